from functools import cached_property

from communities import policy
from discussions.models import Notification


class UnreadCount:
    """Counted on first use (one indexed COUNT), then remembered for the rest of the page."""

    def __init__(self, user):
        self.user = user

    @cached_property
    def value(self) -> int:
        # Like the list: nothing from a community the person may no longer see (left, banned).
        visible = policy.visible_communities(self.user)
        return Notification.objects.filter(
            user=self.user, read_at__isnull=True, post__thread__community__in=visible
        ).count()

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
