"""What notifications reads: the bell's count, its dropdown and the list.

The bell's first look is written out in SQL, with the measurement that keeps
it beside it; the rest is the ORM.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, IntegerField, Q, Subquery
from django.db.models.functions import Coalesce

from accounts.models import NAME_FIELDS, User
from core.db import fetch_all
from notifications.models import FACILITATOR_KINDS, Notification

# notification_unread_idx: the person's unread notifications. Every page a
# member reads asks, most with nothing new. Its ORM twin (filter().exists()):
# a member's thread page (its last), ORM 2.67 ms vs SQL 2.20 ms CPU per request
# (+21 %; instructions 13.8 M vs 12.4 M, +12 %); bench/cpu.py --batches 5
# (quickest of 13 runs) and bench/instructions.py, 2026-12-02. Kept although the
# instructions say 12 %: the page already pays +8 % for Django's own session
# backend, and together they would cost it the 20 % its lead over Spirit (2.46
# times as many requests, the bar being 2) cannot spare.
_ANY_UNREAD_SQL = f"SELECT 1 FROM {Notification._meta.db_table} WHERE user_id = %s AND read_at IS NULL LIMIT 1"  # noqa: S608


def has_unread(user: User) -> bool:
    """Whether anything waits unread (a look at the partial index: most pages are read with nothing new)."""
    return bool(fetch_all(_ANY_UNREAD_SQL, [user.pk]))


def unread_count(user: User) -> int:
    """Unread notifications ``user`` may still read (left, banned, hidden, held, deleted: not counted)."""
    return unread_counts(user)[0]


def unread_counts(user: User) -> tuple[int, int]:
    """Unread notifications ``user`` may still read, and how many of them are review work: one query.

    Review work (``FACILITATOR_KINDS``: join requests, flags, held posts,
    unanswered questions) is the header's "N to review"; counted beside the
    bell's number in the same statement, so the header costs no query more.
    """
    counts = (
        Notification.objects.shown_to(user)
        .filter(read_at__isnull=True)
        .aggregate(total=Count("pk"), review=Count("pk", filter=Q(kind__in=FACILITATOR_KINDS)))
    )
    return int(counts["total"] or 0), int(counts["review"] or 0)


# The full page reads this many of the latest notifications, the dropdown fewer; both group them per thread.
LIST_SHOWN = 100
MENU_SHOWN = 30

# What a line says and where it leads: no post bodies (the list shows none), only names and titles.
_LINE_FIELDS = (
    "user_id",
    "kind",
    "created_at",
    "read_at",
    *(f"actor__{name}" for name in NAME_FIELDS),
    "post__state",
    "post__author_id",
    "post__helpful_count",
    "post__thread__title",
    "post__thread__community__name",
    "post__thread__community__slug",
    "event__title",
    "event__starts_at",
    "event__community__name",
    "event__community__slug",
    "community__name",
    "community__slug",
)


@dataclass
class Latest:
    """The latest notifications (newest first) and how many of all those shown are unread."""

    items: list[Notification]
    unread: int
    to_review: int = 0


def latest(user: User, shown: int = LIST_SHOWN) -> Latest:
    """``user``'s latest notifications about what they may still see, and their unread count, in one query.

    The count rides along as an uncorrelated subquery (PostgreSQL runs it once,
    on the unread index), so the dropdown needs no second query to refresh the
    bell, and the rows stop at the LIMIT however long the person's history.
    """
    unread = Notification.objects.shown_to(user).filter(read_at__isnull=True).values("user")
    total = unread.annotate(total=Count("pk")).values("total")
    review = unread.filter(kind__in=FACILITATOR_KINDS).annotate(total=Count("pk")).values("total")
    items = list(
        Notification.objects.shown_to(user)
        .select_related("actor", "post__thread__community", "event__community", "community")
        .only(*_LINE_FIELDS)
        .annotate(
            unread_total=Coalesce(Subquery(total, output_field=IntegerField()), 0),
            review_total=Coalesce(Subquery(review, output_field=IntegerField()), 0),
        )
        .order_by("-created_at", "-pk")[:shown]
    )
    if not items:
        return Latest(items, 0, 0)
    return Latest(items, _annotated(items[0], "unread_total"), _annotated(items[0], "review_total"))


def _annotated(note: Any, name: str) -> int:
    # The annotations ``latest`` adds: its rows are typed as plain notifications once in a list.
    return int(getattr(note, name))
