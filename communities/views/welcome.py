"""A community's welcome: what a new member reads right after joining, and later on demand."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.models import signed_in
from communities import panels, policy, services
from communities.models import Community


def welcome_context(request: HttpRequest, community: Community) -> dict[str, object]:
    """The welcome text, and what the apps add to it: Start here, the introductions thread."""
    base = {"community": community}
    return {"community": community, "welcome_panels": panels.render_panels("welcome", request, community, base)}


def welcome(request: HttpRequest, slug: str) -> HttpResponse:
    """ "Welcome & start here": for members; anyone else is sent to the community's page."""
    community = policy.get_front_page_or_404(request.user, slug)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not policy.can_see_welcome(request.user, community):
        return redirect(community)
    services.welcome_seen(signed_in(request), community)
    return render(request, "communities/welcome.html", welcome_context(request, community))
