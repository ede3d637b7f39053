"""What notifications reads: the bell's count and the list.

The bell's first look is written out in SQL, with the measurement that keeps
it beside it; the rest is the ORM.
"""

from __future__ import annotations

from accounts.models import User
from core.db import fetch_all
from notifications.models import Notification

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
    return Notification.objects.shown_to(user).filter(read_at__isnull=True).count()


LIST_SHOWN = 50


def latest(user: User) -> list[Notification]:
    """``user``'s latest notifications about posts they may still read, newest first, with where they happened."""
    return list(
        Notification.objects.shown_to(user)
        .select_related("actor", "post__thread__community")
        .order_by("-created_at")[:LIST_SHOWN]
    )
