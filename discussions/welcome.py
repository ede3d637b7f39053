"""What discussions adds to a community's welcome: the threads facilitators may choose for
introductions, and the "Introduce yourself" link to the chosen one's reply box."""

from __future__ import annotations

from django.http import HttpRequest

from communities import panels, policy
from communities.models import Community
from discussions import queries


def introduction_choices(community: Community) -> list[tuple[int, str]]:
    return queries.introduction_choices(community)


def introductions_panel(request: HttpRequest, community: Community) -> panels.Panel | None:
    thread = queries.introductions_thread(community)
    if thread is None or not policy.can_view_thread(request.user, thread):
        return None
    return panels.Panel(
        "discussions/_welcome_introductions.html",
        {"thread": thread, "can_reply": policy.can_reply(request.user, thread)},
        order=20,
    )
