from __future__ import annotations

from functools import cached_property
from typing import Any

from django.http import HttpRequest

from accounts.models import User
from notifications import queries

# Where a view that has counted already leaves the count for the header (the page and the dropdown).
_KNOWN = "notifications_unread"


def remember_unread(request: HttpRequest, count: int, to_review: int = 0) -> None:
    """The view counted already (``queries.latest``): the bell shows that, without asking again."""
    vars(request)[_KNOWN] = (count, to_review)


class UnreadCount:
    """Counted on first use (a look at the unread index, then one COUNT only if there is anything), then remembered.

    The same count says how many of those are review work (``to_review``: the
    header's "N to review"), so the header asks nothing more for it.
    """

    def __init__(self, request: HttpRequest, user: User) -> None:
        self.request = request
        self.user = user

    @cached_property
    def counts(self) -> tuple[int, int]:
        known = vars(self.request).get(_KNOWN)
        if known is not None:
            return int(known[0]), int(known[1])
        # Most pages are read with nothing new: a look at the partial index first.
        if not queries.has_unread(self.user):
            return 0, 0
        return queries.unread_counts(self.user)

    @property
    def value(self) -> int:
        return self.counts[0]

    @property
    def to_review(self) -> int:
        return self.counts[1]

    def __int__(self) -> int:
        return self.value

    def __float__(self) -> float:
        return float(self.value)

    def __bool__(self) -> bool:
        return self.value > 0

    def __str__(self) -> str:
        return str(self.value)


def bell(request: HttpRequest) -> dict[str, Any]:
    """Unread notification count for the header bell (logged-in people only)."""
    user = getattr(request, "user", None)
    if not isinstance(user, User):
        return {}
    return {"unread_notifications": UnreadCount(request, user)}
