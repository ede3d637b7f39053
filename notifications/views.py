"""The notifications page, the bell's dropdown, and opening one notification.

Opening is a POST (a form per row, with the CSRF token), not a GET link:
reading a notification changes what the bell counts, and GETs are fetched by
things that are not the person: browsers prefetching or prerendering links,
mail and chat link scanners, a cross-site page's link. A POST is never
prefetched and carries the CSRF check, so only the person's own click reads
it; repeating it (back, resubmit) reads nothing more and lands on the same
post. What it costs: a row is a button, so it opens in the same tab.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User, signed_in
from communities import policy
from core.http import HtmxRequest
from notifications import alerts, display, queries, services
from notifications.context_processors import remember_unread
from notifications.forms import AlertSettingsForm
from notifications.models import AlertCadence, Notification

# Rows in the dropdown: the latest few conversations; the page shows the rest.
MENU_ROWS = 8


@login_required
@require_http_methods(["GET", "POST"])
def notification_list(request: HtmxRequest) -> HttpResponse:
    user = signed_in(request)
    if request.method == "POST":  # "Mark all as read"
        services.mark_all_read(user)
        if request.htmx:  # from the dropdown: it stays open, every row read, the bell at nothing
            return _menu(request, user)
        return redirect("notifications:list")
    # Checked at read time: the person may have left, or the post been hidden, held or deleted since.
    latest = queries.latest(user)
    remember_unread(request, latest.unread, latest.to_review)
    return render(request, "notifications/list.html", {"rows": display.rows(latest.items), "unread": latest.unread})


@login_required
@require_GET
def menu(request: HtmxRequest) -> HttpResponse:
    """The bell's dropdown (htmx); without htmx, the page it summarises."""
    if not request.htmx:
        return redirect("notifications:list")
    return _menu(request, signed_in(request))


def _menu(request: HtmxRequest, user: User) -> HttpResponse:
    latest = queries.latest(user, queries.MENU_SHOWN)
    response = render(
        request,
        "notifications/_menu.html",
        {"rows": display.rows(latest.items, limit=MENU_ROWS), "unread": latest.unread},
    )
    # A person's own, always fresh: never from a cache, and not the page the same URL gives without htmx.
    patch_cache_control(response, private=True, no_store=True)
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
@require_POST
def open_notification(request: HtmxRequest, pk: int) -> HttpResponse:
    """Read the notification (and the rest of its row) and go to what it is about: the exact post."""
    user = signed_in(request)
    note = (
        Notification.objects.select_related("post__thread__community", "event__community", "community")
        .filter(user=user, pk=pk)
        .first()
    )
    if note is None:  # someone else's looks the same as none
        raise Http404("No such notification.")
    services.open_notification(user, note)
    if not note.is_shown_to(user):
        messages.info(request, "What that notification was about is no longer there for you to see.")
        return redirect("notifications:list")
    return redirect(display.target_url(note))


@login_required
@require_http_methods(["GET", "POST"])
def alert_settings(request: HtmxRequest) -> HttpResponse:
    """A facilitator chooses how review work reaches them by email: right away, once a day (the default), never."""
    user = signed_in(request)
    if not policy.can_set_alert_cadence(user):
        raise Http404("No such page.")
    if request.method == "POST":
        form = AlertSettingsForm(request.POST)
        if form.is_valid():
            alerts.set_cadence(user, form.cleaned_data["cadence"])
            messages.success(request, "Saved: " + AlertCadence(form.cleaned_data["cadence"]).label.lower() + ".")
            return redirect("notifications:alerts")
    else:
        form = AlertSettingsForm(initial={"cadence": alerts.cadence_of(user)})
    moderates = policy.moderated_communities(user).exists()
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "notifications/alert_settings.html", {"form": form, "moderates": moderates}, status=status)
