"""Demo data that needs every other app's demo first: run last (``DiscoveryConfig``), idempotent."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from communities import demo as community_demo
from communities import services
from communities.models import Community, CommunityRequest
from discussions.models import Thread

WELCOME = (
    "Welcome to **Acute Pain Practice**, we're glad you're here.\n\n"
    "- Start with the pinned resources below: they are what newcomers found most useful.\n"
    "- Say hello in the introductions thread: your role, your ward, one thing you'd like to improve.\n"
    "- Ask anything. The basic questions are the ones most of us were afraid to ask."
)
INTRODUCTIONS = "Welcome! Start here: how this community works"


def seed_last(users: dict[str, User]) -> list[str]:
    return community_demo.seed_newcomers(users) + seed_welcome(users) + seed_request(users)


def seed_welcome(users: dict[str, User]) -> list[str]:
    """The first community's welcome and its introductions thread (the demo's "Start here" thread)."""
    community = Community.objects.filter(slug=community_demo.COMMUNITIES[0]["slug"]).first()
    if community is None or community.welcome:
        return []
    thread = Thread.objects.filter(community=community, title=INTRODUCTIONS).first()
    fields: dict[str, Any] = {"welcome": WELCOME}
    if thread is not None:
        fields["introductions_thread_id"] = thread.pk
    services.update_community(users[community_demo.COMMUNITIES[0]["owner"]], community, **fields)
    return [f"  a welcome for new members of /c/{community.slug}/ (join it to see it)"]


def seed_request(users: dict[str, User]) -> list[str]:
    """One request for a new community waiting for the site admin."""
    hannah = users.get("hannah")
    if hannah is None or CommunityRequest.objects.filter(requester=hannah).exists():
        return []
    services.request_community(
        hannah,
        name="Paediatric Pain Nurses",
        domain="Nurses caring for children in pain, from neonatal units to the children's ward.",
        why="Several of us in Acute Pain Practice work with children and keep asking the same questions.",
        visibility=Community.Visibility.OPEN,
        join_policy=Community.JoinPolicy.OPEN,
    )
    return ["  a community request waiting at /c/requests/ (log in as admin)"]
