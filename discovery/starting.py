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
from typing import Any

from django.db import connection
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Value
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
class Way:
    """One thing to do: a question to answer, a resource to read and rate, a chat to answer."""

    kind: str  # "question", "resource" or "chat"
    pk: int
    title: str
    community: Community
    at: datetime  # a question's or resource's creation, a chat's start
    marked: bool  # a question: marked "good first reply" by a facilitator


@dataclass
class WaysToStart:
    questions: list[Way] = field(default_factory=list)
    resources: list[Way] = field(default_factory=list)
    chat: Way | None = None

    def __bool__(self) -> bool:
        return bool(self.questions or self.resources or self.chat)


_COLUMNS = ("way", "pk", "title", "community_id", "at", "marked")


def _candidates(user: User, ids: list[int], now: datetime) -> list[QuerySet[Any, dict[str, Any]]]:
    """The three lists as querysets of the same columns (``_COLUMNS``), each ordered and cut."""
    questions = (
        Thread.objects.filter(community_id__in=ids, kind=Thread.Kind.QUESTION, locked_at__isnull=True)
        .filter(policy.published_threads_q())
        .filter(Q(good_first_reply=True) | Q(reply_count=0, created_at__lt=now - UNANSWERED_AFTER))
        .exclude(author=user)
        .annotate(way=Value("question"), at=F("created_at"), marked=F("good_first_reply"))
        .values(*_COLUMNS)
        .order_by("-marked", "-at")[:QUESTIONS_SHOWN]
    )
    rated = ResourceReaction.objects.filter(resource=OuterRef("pk"), user=user)
    resources = (
        Resource.objects.filter(community_id__in=ids)
        .listed()
        .exclude(added_by=user)
        .exclude(Exists(rated))
        .annotate(way=Value("resource"), at=F("created_at"), marked=Value(False))
        .values(*_COLUMNS)
        .order_by("-helpful_count", "-at")[:RESOURCES_SHOWN]
    )
    chats = (
        Event.objects.filter(community_id__in=ids, kind=Event.Kind.CHAT, ends_at__gte=now, cancelled_at__isnull=True)
        .annotate(way=Value("chat"), at=F("starts_at"), marked=Value(False))
        .values(*_COLUMNS)
        .order_by("at")[:1]
    )
    return [questions, resources, chats]


def ways_to_start(user: User, communities: list[Community], now: datetime | None = None) -> WaysToStart:
    """What ``user`` could do first in ``communities`` (those they are a newcomer in).

    One statement on PostgreSQL (the three lists, each ordered and cut, joined by
    UNION ALL), whatever the number of communities; three on SQLite, which takes
    no LIMIT inside a compound statement.
    """
    ways = WaysToStart()
    if not communities:
        return ways
    now = now or timezone.now()
    by_id = {c.pk: c for c in communities}
    parts = _candidates(user, list(by_id), now)
    if connection.features.supports_slicing_ordering_in_compound:
        rows = list(parts[0].union(*parts[1:], all=True))
    else:
        rows = [row for part in parts for row in part]
    for row in rows:
        way = Way(
            kind=row["way"],
            pk=row["pk"],
            title=row["title"],
            community=by_id[row["community_id"]],
            at=row["at"],
            marked=bool(row["marked"]),
        )
        if way.kind == "question":
            ways.questions.append(way)
        elif way.kind == "resource":
            ways.resources.append(way)
        else:
            ways.chat = way
    # A union keeps no order between its parts' rows: each list is ordered again here.
    ways.questions.sort(key=lambda w: (not w.marked, -w.at.timestamp()))
    return ways


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
