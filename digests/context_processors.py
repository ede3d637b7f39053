from functools import cached_property

from discussions.models import Notification


class UnreadCount:
    """Counted on first use (one indexed COUNT), then remembered for the rest of the page."""

    def __init__(self, user):
        self.user = user

    @cached_property
    def value(self) -> int:
        return Notification.objects.filter(user=self.user, read_at__isnull=True).count()

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
