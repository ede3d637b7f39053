"""Ways to start: what a member who has not contributed to a community yet is offered there.

A short list, on the community page and on their home: questions a facilitator
marked "good first reply" or that nobody answered for more than two days,
resources to read and mark "helpful", and the next hosted chat to answer.
"Not contributed yet" is ``Membership.first_contributed_at`` unset (the ledger
sets it with the first thread, reply, resource or value note). Each list is one
query across all the member's newcomer communities, whatever their number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef, Q
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from communities import panels, policy
from communities.models import Community, Membership
from discussions.models import Thread
from events.models import Event
from resources.models import Resource, ResourceReaction

# A question nobody answered for this long is offered to newcomers.
UNANSWERED_AFTER = timedelta(days=2)
QUESTIONS_SHOWN = 3
RESOURCES_SHOWN = 2


@dataclass
class WaysToStart:
    questions: list[Thread] = field(default_factory=list)
    resources: list[Resource] = field(default_factory=list)
    chat: Event | None = None

    def __bool__(self) -> bool:
        return bool(self.questions or self.resources or self.chat)


def ways_to_start(user: User, communities: list[Community], now: datetime | None = None) -> WaysToStart:
    """What ``user`` could do first in ``communities`` (those they are a newcomer in): three queries."""
    if not communities:
        return WaysToStart()
    now = now or timezone.now()
    ids = [c.pk for c in communities]
    by_id = {c.pk: c for c in communities}
    questions = list(
        Thread.objects.filter(community_id__in=ids, kind=Thread.Kind.QUESTION, locked_at__isnull=True)
        .filter(policy.published_threads_q())
        .filter(Q(good_first_reply=True) | Q(reply_count=0, created_at__lt=now - UNANSWERED_AFTER))
        .exclude(author=user)
        .only("community", "title", "kind", "good_first_reply", "reply_count", "created_at")
        .order_by("-good_first_reply", "-created_at")[:QUESTIONS_SHOWN]
    )
    marked = ResourceReaction.objects.filter(resource=OuterRef("pk"), user=user)
    resources = list(
        Resource.objects.filter(community_id__in=ids)
        .listed()
        .exclude(added_by=user)
        .exclude(Exists(marked))
        .only("community", "title", "helpful_count", "created_at")
        .order_by("-helpful_count", "-created_at")[:RESOURCES_SHOWN]
    )
    chat = (
        Event.objects.filter(community_id__in=ids, kind=Event.Kind.CHAT, ends_at__gte=now, cancelled_at__isnull=True)
        .only("community", "title", "kind", "starts_at", "ends_at")
        .order_by("starts_at")
        .first()
    )
    for row in (*questions, *resources, *([chat] if chat else [])):
        row.community = by_id[row.community_id]
    return WaysToStart(questions=questions, resources=resources, chat=chat)


def newcomer_communities(memberships: list[Membership], communities: dict[int, Community]) -> list[Community]:
    """Of a member's memberships, the communities they have not contributed to yet."""
    return [
        communities[m.community_id]
        for m in memberships
        if m.is_active and m.first_contributed_at is None and m.community_id in communities
    ]


def community_panel(request: HttpRequest, community: Community) -> panels.Panel | None:
    """The community page, for a member who has not contributed yet (or has a buddy): ways to start, their buddy."""
    membership = policy.membership_of(request.user, community)
    if membership is None or not membership.is_active or not isinstance(request.user, User):
        return None
    newcomer = membership.first_contributed_at is None
    if not newcomer and membership.buddy_id is None:
        return None
    buddy = User.objects.filter(pk=membership.buddy_id).first() if membership.buddy_id else None
    ways = ways_to_start(request.user, [community]) if newcomer else WaysToStart()
    return panels.Panel(
        "discovery/_ways_to_start.html",
        {"ways": ways, "buddy": buddy, "newcomer": newcomer, "several": False},
        order=1,
    )
