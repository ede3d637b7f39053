from functools import cached_property

from notifications import queries


class UnreadCount:
    """Counted on first use (a look at the unread index, then a COUNT only if there is anything), then remembered."""

    def __init__(self, user):
        self.user = user

    @cached_property
    def value(self) -> int:
        # Most pages are read with nothing new: a look at the partial index first.
        if not queries.has_unread(self.user):
            return 0
        return queries.unread_count(self.user)

    def __int__(self) -> int:
        return self.value

    def __float__(self) -> float:
        return float(self.value)

    def __bool__(self) -> bool:
        return self.value > 0

    def __str__(self) -> str:
        return str(self.value)


def bell(request):
    """Unread notification count for the header bell (logged-in people only)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications": UnreadCount(user)}
