from functools import cached_property

from core.db import fetch_all
from notifications.models import Notification

# notification_unread_idx: the person's unread notifications.
_ANY_UNREAD_SQL = f"SELECT 1 FROM {Notification._meta.db_table} WHERE user_id = %s AND read_at IS NULL LIMIT 1"  # noqa: S608


class UnreadCount:
    """Counted on first use (a look at the unread index, then a COUNT only if there is anything), then remembered."""

    def __init__(self, user):
        self.user = user

    @cached_property
    def value(self) -> int:
        # Most pages are read with nothing new: a look at the partial index first,
        # written out because the ORM spent longer composing it than the database answering.
        if not fetch_all(_ANY_UNREAD_SQL, [self.user.pk]):
            return 0
        # Like the list: nothing the person may no longer read (left, banned, hidden, held, deleted).
        return Notification.objects.shown_to(self.user).filter(read_at__isnull=True).count()

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
