"""Bookmarks: posts a member keeps to come back to, each with an optional reminder.

Bookmarking the opening post bookmarks the thread. A bookmark shows, and its
reminder is delivered, only while the member may still read the post
(``Bookmark.objects.shown_to``, the policy's ``readable_posts_q``): a post
hidden, held or deleted since, a thread moved out of their sight, a private
community they left or were banned from, and the bookmark is gone from their
list and its reminder never arrives.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from communities import policy
from discussions.models import Post

NOTE_MAX = 200


class BookmarkQuerySet(models.QuerySet["Bookmark"]):
    def shown_to(self, user: User) -> BookmarkQuerySet:
        """``user``'s bookmarks of posts they may still read (the one definition of a readable post)."""
        return self.filter(user=user).filter(policy.readable_posts_q(user, "post__"))


class Bookmark(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bookmarks")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="+")
    note = models.CharField(max_length=NOTE_MAX, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # When to remind the member (UTC, as every time here), and when the reminder was dealt
    # with: delivered, or dropped because the post was no longer theirs to read. Setting a
    # new moment clears ``reminded_at``; the beat task sets it in the transaction that
    # delivers, so each reminder is delivered once.
    remind_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)

    objects = BookmarkQuerySet.as_manager()

    class Meta:
        constraints = [
            # One bookmark per person and post; this index also answers "which posts of this page
            # did the reader bookmark?" on every thread page.
            models.UniqueConstraint(fields=["user", "post"], name="one_bookmark_per_post"),
        ]
        indexes = [
            # The Bookmarks page: a person's bookmarks, newest first.
            models.Index(fields=["user", "-created_at"], name="bookmark_user_idx"),
            # The beat task: reminders due and not yet dealt with (few; a partial index stays small).
            models.Index(
                fields=["remind_at"],
                name="bookmark_due_idx",
                condition=Q(remind_at__isnull=False, reminded_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} bookmarked post {self.post_id}"

    @property
    def reminder_pending(self) -> bool:
        return self.remind_at is not None and self.reminded_at is None
