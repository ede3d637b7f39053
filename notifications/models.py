"""In-app notifications: the bell, the list, and the emails sent for them.

The table keeps the name it was created under in discussions (``db_table``):
moving the model here changed no row.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from communities import policy
from discussions.models import Post


class NotificationQuerySet(models.QuerySet["Notification"]):
    def shown_to(self, user: User) -> NotificationQuerySet:
        """``user``'s notifications about posts they may still read (left, banned, hidden, held, deleted: gone)."""
        return self.filter(user=user).filter(policy.readable_posts_q(user, "post__"))


class Notification(models.Model):
    class Kind(models.TextChoices):
        MENTION = "mention", "mentioned you"
        REPLY = "reply", "replied to you"
        ACCEPTED = "accepted", "accepted your answer"
        HIDDEN = "hidden", "hid your post"
        # Made by watching levels (discussions/models.py): a new thread in a community the person
        # watches (or watches for new threads), a new post in a thread they watch.
        NEW_THREAD = "new_thread", "started a new thread"
        WATCHING = "watching", "posted"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    # Set when the email sweep has dealt with it (sent, grouped or left for the digest).
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_sent = models.BooleanField(default=False)

    objects = NotificationQuerySet.as_manager()

    # Not a column: the post's address, set by notifications.email._send for the email's templates.
    link: str

    class Meta:
        db_table = "discussions_notification"
        ordering = ["-created_at"]
        constraints = [
            # A post notifies a person once per kind, even if saved twice.
            models.UniqueConstraint(fields=["user", "post", "kind"], name="one_notification_per_post_kind"),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="notification_user_idx"),
            # The bell: unread count per person.
            models.Index(fields=["user"], name="notification_unread_idx", condition=Q(read_at__isnull=True)),
            # The email sweep: not yet handled, oldest first.
            models.Index(fields=["created_at"], name="notification_email_idx", condition=Q(emailed_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.kind} on post {self.post_id}"
