"""Email preferences, unsubscribe (RFC 8058 one-click included) and the facilitator's digest preview."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts import services as accounts
from accounts import unsubscribe as notification_tokens
from accounts.models import AuthenticatedRequest, User
from communities import policy, queries
from communities.models import Cadence, Community, Membership
from core.forms import Form
from core.refusals import Refused
from digests import building, services, unsubscribe
from digests import queries as digest_queries
from digests.forms import PAUSES, PauseForm, RhythmForm, cadence_field
from notifications.email import KIND_PHRASES


@login_required
def preferences(request: AuthenticatedRequest) -> HttpResponse:
    memberships = queries.active_memberships_of(request.user)
    rhythm = RhythmForm(request.POST or None, instance=request.user, prefix="rhythm")
    cadences = Form(request.POST or None, prefix="c")
    for m in memberships:
        name = f"community_{m.community_id}"
        cadences.fields[name] = cadence_field(m.community.default_cadence)
        cadences.fields[name].label = m.community.name
        cadences.fields[name].initial = m.digest_cadence
    pausing = request.method == "POST" and "pause" in request.POST
    pause = PauseForm(request.POST if pausing else None, prefix="pause")
    if pausing and request.POST["pause"] in ("off", "0"):
        accounts.resume_email(request.user)
        messages.success(request, "Email is back on.")
        return redirect("digests:preferences")
    if pausing and pause.is_valid():
        length = PAUSES[pause.cleaned_data["pause_for"]][1]
        accounts.pause_email(request.user, until=timezone.now() + length if length else None)
        messages.success(request, "All email is paused.")
        return redirect("digests:preferences")
    if request.method == "POST" and not pausing and rhythm.is_valid() and cadences.is_valid():
        rhythm.save()
        for m in memberships:
            value = cadences.cleaned_data[f"community_{m.community_id}"]
            if value != m.digest_cadence:
                services.set_cadence(request.user, m.community, value)
        messages.success(request, "Your email settings are saved.")
        return redirect("digests:preferences")
    return render(
        request,
        "digests/preferences.html",
        {
            "rhythm": rhythm,
            "cadences": cadences,
            "memberships": memberships,
            "pause": pause,
            "state": digest_queries.email_state(request.user.pk),
        },
    )


# --- The email pages: unsubscribe (a digest, or all email), one kind of notification, undo --------------
#
# Each is reached by a signed link from an email, without logging in. A GET (a link
# scanner, a preview pane) never changes anything. Each page states what the person
# will still receive exactly as the settings page does (digests/_email_state.html),
# offers smaller steps than stopping, and undoes what it just did.


def _checked(request: HttpRequest) -> HttpResponse:
    """Stands for a view the CSRF check is not waived for (``_csrf_refusal``)."""
    return HttpResponse()


def _csrf_refusal(request: HttpRequest) -> HttpResponseBase | None:
    """The CSRF check, for the POSTs to a one-click view that are not the one-click POST itself."""
    return CsrfViewMiddleware(_checked).process_view(request, _checked, (), {})


def _one_click(request: HttpRequest) -> bool:
    """An RFC 8058 one-click POST: a mail provider's, without cookies, hence without a CSRF token."""
    return request.method == "POST" and request.POST.get("List-Unsubscribe") == "One-Click"


def _bad_link(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "digests/unsubscribe.html", {"error": message}, status=400)


STALE = "This link no longer matches a subscription."
ALL = "all"  # pause everything, until the person turns it back on
MONTH = "month"  # pause everything for a month
RIGHT_AWAY_OFF = "right-away-off"  # nothing right away: only digests
KIND_OFF = "kind-off"


def _cadence_steps(membership: Membership | None) -> list[tuple[str, str]]:
    """Smaller digests than now for the membership's community: (cadence, label)."""
    if membership is None or membership.state != Membership.State.ACTIVE:
        return []
    order = [Cadence.DAILY, Cadence.WEEKLY, Cadence.MONTHLY, Cadence.OFF]
    now = order.index(Cadence(membership.effective_cadence))
    name = membership.community.name
    return [
        (c, f"No more digests from {name}" if c == Cadence.OFF else f"Fewer emails: a {c} digest instead ({name})")
        for c in order[now + 1 :]
    ]


def _apply(user: User, choice: str, membership: Membership | None, kind: str | None) -> tuple[str, dict] | None:
    """Make the chosen change: (what the page says happened, its undo), or None for a choice not offered."""
    if choice == KIND_OFF and kind is not None:
        undo = services.stop_kinds(user, [kind])
        return f"You won't get emails when {KIND_PHRASES[kind]} any more. They still show in your notifications.", undo
    if choice in dict(_cadence_steps(membership)) and membership is not None:
        undo = services.step_cadence(user, membership.community, choice)
        label = "no more digests" if choice == Cadence.OFF else f"a {choice} digest"
        return f"{membership.community.name}: you'll get {label}.", undo
    if choice == ALL:
        undo = services.pause(user, None)
        return "All email is paused until you turn it back on.", undo
    if choice == MONTH:
        undo = services.pause(user, timezone.now() + PAUSES["month"][1])  # type: ignore[operator]
        return "All email is paused for a month.", undo
    if choice == RIGHT_AWAY_OFF:
        undo = services.stop_kinds(user, list(user.email_notifications or []))
        return "No more emails right away: your notifications wait for your digests.", undo
    return None


def _page(
    request: HttpRequest,
    user: User,
    *,
    choices: list[tuple[str, str]],
    intro: str,
    done: str = "",
    undo: dict | None = None,
    status: int = 200,
    error_choice: str = "",
) -> HttpResponse:
    context = {
        "person": user,
        "intro": intro,
        "choices": choices,
        "done": done,
        "undo_token": services.undo_token(user, undo) if undo else "",
        "state": digest_queries.email_state(user.pk),
        "error_choice": error_choice,
    }
    return render(request, "digests/unsubscribe.html", context, status=status)


@csrf_exempt  # authenticated by the signed token; the RFC 8058 one-click POST comes without cookies
def unsubscribe_view(request: HttpRequest, token: str) -> HttpResponseBase:
    """A digest's link: fewer digests from its community ("fewer emails"), or no email at all ("stop all email")."""
    try:
        user_id, community_id = unsubscribe.read_token(token)
    except unsubscribe.BadToken as exc:
        return _bad_link(request, exc.message)
    user = digest_queries.addressee(user_id)
    membership = None
    if community_id is not None:
        membership = queries.membership_with_community(user_id, community_id)
    if user is None or (community_id is not None and membership is None):
        return _bad_link(request, STALE)
    one_click = _one_click(request)
    if request.method == "POST" and not one_click and (refused := _csrf_refusal(request)):
        return refused
    if membership is not None:
        name = membership.community.name
        if membership.state != Membership.State.ACTIVE:
            intro = f"You are not a member of {name} now: no digests come from it."
        elif membership.effective_cadence == Cadence.OFF:
            intro = f"You get no digests from {name}."
        else:
            intro = f"You get a {membership.effective_cadence} digest from {name}."
        choices = [*_cadence_steps(membership), (ALL, f"No email at all from {settings.COPSITE_NAME}")]
    else:
        intro = f"Stop all email from {settings.COPSITE_NAME} for {user.name}?"
        choices = [
            (RIGHT_AWAY_OFF, "Fewer emails: only digests, nothing right away"),
            (MONTH, "Pause all email for a month"),
            (ALL, f"No email at all from {settings.COPSITE_NAME}, until I turn it back on"),
        ]
    if request.method != "POST":
        return _page(request, user, choices=choices, intro=intro)
    choice = (Cadence.OFF if membership else ALL) if one_click else request.POST.get("choice", "")
    if choice not in dict(choices) and not one_click:
        return _page(request, user, choices=choices, intro=intro, status=400, error_choice="Choose one of the options.")
    result = _apply(user, choice, membership, None)
    if one_click:
        return HttpResponse("Unsubscribed.", content_type="text/plain")
    assert result is not None
    done, undo = result
    return _page(request, user, choices=[], intro="", done=done, undo=undo)


@csrf_exempt  # authenticated by the signed token; the RFC 8058 one-click POST comes without cookies
def notification_unsubscribe(request: HttpRequest, token: str) -> HttpResponseBase:
    """A notification email's link: stop that kind of email (one click does only that), or a smaller step."""
    try:
        scope = notification_tokens.read_token(token)
    except unsubscribe.BadToken as exc:
        return _bad_link(request, exc.message)
    user = digest_queries.addressee(scope.user_id)
    if user is None or scope.kind not in KIND_PHRASES:
        return _bad_link(request, STALE)
    one_click = _one_click(request)
    if request.method == "POST" and not one_click and (refused := _csrf_refusal(request)):
        return refused
    if one_click:
        services.stop_kinds(user, [scope.kind])  # again: nothing more changes
        return HttpResponse("Unsubscribed.", content_type="text/plain")
    phrase = KIND_PHRASES[scope.kind]
    membership = None
    if scope.community_id is not None:
        membership = queries.membership_with_community(user.pk, scope.community_id)
    on = scope.kind in (user.email_notifications or [])
    choices = [(KIND_OFF, f"No more emails when {phrase}")] if on else []
    choices += [*_cadence_steps(membership), (ALL, f"No email at all from {settings.COPSITE_NAME}")]
    if on:
        intro = f"You get an email when {phrase}."
    else:
        intro = f"Emails when {phrase} are off. They still show in your notifications."
    if request.method != "POST":
        # Turned off already (a mail provider's one click): the page offers to turn them back on.
        undo = None if on else {"a": "kinds", "add": [scope.kind]}
        return _page(request, user, choices=choices, intro=intro, undo=undo)
    choice = request.POST.get("choice", "")
    result = _apply(user, choice, membership, scope.kind) if choice in dict(choices) else None
    if result is None:
        return _page(request, user, choices=choices, intro=intro, status=400, error_choice="Choose one of the options.")
    done, undo = result
    return _page(request, user, choices=[], intro="", done=done, undo=undo)


@require_http_methods(["GET", "POST"])
def undo_view(request: HttpRequest, token: str) -> HttpResponse:
    """Put back what an email page just changed (a POST with the CSRF token; a GET only asks)."""
    try:
        record = services.read_undo(token)
    except unsubscribe.BadToken:
        return _bad_link(request, "This undo link is not valid or is too old. Change your email settings instead.")
    user = digest_queries.addressee(record["u"])
    if user is None:
        return _bad_link(request, STALE)
    if request.method != "POST":
        return _page(request, user, choices=[], intro="Undo the change to your email?", undo=record)
    try:
        services.undo(user, record)
    except unsubscribe.BadToken as exc:
        return _bad_link(request, exc.message)
    return _page(request, user, choices=[], intro="", done="Undone: your email settings are as they were.")


def preview(request: HttpRequest, slug: str) -> HttpResponse:
    community = policy.get_community_or_404(request.user, slug)
    if not policy.can_moderate(request.user, community):
        raise Refused("Only facilitators can preview the digest.")
    level = request.GET.get("level", "peripheral")
    if level not in Membership.Level.values:
        level = "peripheral"
    section = building.build_for_preview(community, level, timezone.now())
    return render(
        request,
        "digests/preview.html",
        {"community": community, "section": section, "level": level, "levels": Membership.Level.choices},
    )


def dashboard_panel(request: HttpRequest, community: Community):
    from communities.panels import Panel

    if not policy.can_moderate(request.user, community):
        return None
    return Panel("digests/_dashboard_panel.html", {}, order=50)
