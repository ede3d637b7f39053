"""How closely a member follows a community: the watching control's form."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.models import signed_in
from communities import policy, services, watching
from communities.forms import CommunityWatchForm
from core import ratelimit
from core.http import HtmxRequest
from core.refusals import Refused


@require_POST
@ratelimit.limited("watch")
def watch(request: HtmxRequest, slug: str) -> HttpResponse:
    community = policy.get_community_or_404(request.user, slug)
    if not request.user.is_authenticated:
        return redirect_to_login(community.get_absolute_url())
    form = CommunityWatchForm(request.POST)
    if not form.is_valid():
        raise Refused("Choose one of the watching levels.", status=400)
    membership = services.set_watch_level(signed_in(request), community, form.cleaned_data["level"])
    membership.community = community
    control = watching.community_control(membership, saved=True)
    if request.htmx:
        return render(request, "includes/watch_control.html", {"control": control})
    messages.success(request, control.saved if control else "Saved.")
    return redirect(community)
