"""Email preferences, unsubscribe (RFC 8058 one-click included) and the facilitator's digest preview."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from accounts import services as accounts
from accounts.models import AuthenticatedRequest
from communities import policy, queries
from communities.models import Cadence, Community, Membership
from core.forms import Form
from core.refusals import Refused
from digests import building, services, unsubscribe
from digests.forms import PAUSES, PauseForm, RhythmForm, cadence_field


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
        {"rhythm": rhythm, "cadences": cadences, "memberships": memberships, "pause": pause},
    )


@csrf_exempt  # authenticated by the signed token; RFC 8058 one-click POSTs come without cookies
def unsubscribe_view(request: HttpRequest, token: str) -> HttpResponse:
    try:
        user_id, community_id = unsubscribe.read_token(token)
    except unsubscribe.BadToken as exc:
        return render(request, "digests/unsubscribe.html", {"error": exc.message}, status=400)
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    membership = None
    if community_id is not None:
        membership = queries.membership_with_community(user_id, community_id)
    if user is None or (community_id is not None and membership is None):
        return render(
            request, "digests/unsubscribe.html", {"error": "This link no longer matches a subscription."}, status=400
        )
    current = (membership.digest_cadence or membership.community.default_cadence) if membership else None
    context = {
        "token": token,
        "membership": membership,
        "current": current,
        "person": user,
        "gentler": services.gentler(current) if current else None,
    }
    if request.method != "POST":
        # A GET (a link scanner, a preview pane) never changes anything.
        return render(request, "digests/unsubscribe.html", context)
    choice = request.POST.get("choice", "")
    one_click = request.POST.get("List-Unsubscribe") == "One-Click"
    if one_click:
        choice = "off" if membership else "all"
    if choice == "all":
        accounts.pause_email(user)
        done = "You won't get any more email from this site. You can turn it back on in your email settings."
    elif membership and choice in (Cadence.WEEKLY, Cadence.MONTHLY, Cadence.OFF):
        services.set_cadence(user, membership.community, choice)
        label = "no more digests" if choice == Cadence.OFF else f"a {choice} digest"
        done = f"{membership.community.name}: you'll get {label}."
    else:
        context["error_choice"] = "Choose one of the options."
        return render(request, "digests/unsubscribe.html", context, status=400)
    if one_click:
        return HttpResponse("Unsubscribed.", content_type="text/plain")
    return render(request, "digests/unsubscribe.html", {**context, "done": done})


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
