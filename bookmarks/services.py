"""Writes for bookmarks: add, remove, set a reminder, and deliver the reminders that are due."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from bookmarks import email
from bookmarks.models import NOTE_MAX, Bookmark
from communities import policy
from core.refusals import Refused
from discussions.models import Post
from notifications.models import Notification

# Reminders handled per transaction by the beat task; it goes on until none is due.
BATCH = 200
MAX_BATCHES = 50


def _readable(user: User, post: Post) -> bool:
    return policy.can_view_thread(user, post.thread) and policy.can_see_post_content(user, post)


@transaction.atomic
def add_bookmark(user: User, post: Post) -> Bookmark:
    """Bookmark ``post`` for ``user`` (again: the bookmark they have). A post they may not read is refused."""
    post = Post.objects.select_related("thread__community").get(pk=post.pk)
    if post.is_deleted or not _readable(user, post):
        raise Refused("You can't bookmark that post.")
    bookmark, _ = Bookmark.objects.get_or_create(user=user, post=post)
    return bookmark


def remove_bookmark(user: User, post: Post) -> None:
    """``user`` no longer keeps ``post`` (nothing to do if they didn't); a pending reminder goes with it."""
    Bookmark.objects.filter(user=user, post=post).delete()


@transaction.atomic
def set_reminder(user: User, bookmark: Bookmark, *, remind_at: datetime | None, note: str) -> Bookmark:
    """Set (or clear) the bookmark's reminder and note. A new moment is a new reminder, delivered once more."""
    bookmark = Bookmark.objects.select_for_update().get(pk=bookmark.pk, user=user)
    if remind_at is not None and remind_at != bookmark.remind_at and remind_at <= timezone.now():
        raise Refused("That moment has passed: choose a later one.")
    if remind_at != bookmark.remind_at:
        bookmark.remind_at, bookmark.reminded_at = remind_at, None
    bookmark.note = note[:NOTE_MAX]
    bookmark.save(update_fields=["remind_at", "reminded_at", "note"])
    return bookmark


def deliver_due_reminders(now: datetime) -> int:
    """Deliver every reminder due by ``now``; returns how many were delivered.

    Each batch is one transaction: the due rows are locked (another run at the
    same time skips them), the notifications and emails are written, and the
    rows are marked dealt with, all or nothing. A run that crashes half-way
    leaves its batch as it was for the next run; a second run finds nothing
    left to do. So each reminder is delivered exactly once.
    """
    delivered = 0
    for _ in range(MAX_BATCHES):
        done, handled = _deliver_batch(now)
        delivered += done
        if handled < BATCH:
            break
    return delivered


@transaction.atomic
def _deliver_batch(now: datetime) -> tuple[int, int]:
    due = list(
        Bookmark.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(remind_at__lte=now, reminded_at__isnull=True)
        .select_related("user", "post__thread__community", "post__author")
        .order_by("remind_at", "pk")[:BATCH]
    )
    if not due:
        return 0, 0
    wanted = _still_readable(due)
    _notify(wanted, now)
    for bookmark in wanted:
        if email.wanted_by(bookmark.user):
            email.queue_reminder(bookmark)
    # Delivered or dropped (the post is no longer theirs to read): either way, dealt with.
    Bookmark.objects.filter(pk__in=[b.pk for b in due]).update(reminded_at=now)
    return len(wanted), len(due)


def _still_readable(due: list[Bookmark]) -> list[Bookmark]:
    """The reminders whose person is still here and may still read the post, asked once per person."""
    by_user: dict[int, list[Bookmark]] = defaultdict(list)
    for bookmark in due:
        if bookmark.user.is_active and bookmark.user.deleted_at is None:
            by_user[bookmark.user_id].append(bookmark)
    wanted = []
    for items in by_user.values():
        user = items[0].user
        readable = set(
            Post.objects.readable_by(user).filter(pk__in=[b.post_id for b in items]).values_list("pk", flat=True)
        )
        wanted += [b for b in items if b.post_id in readable]
    return wanted


def _notify(bookmarks: list[Bookmark], now: datetime) -> None:
    """A ``reminder`` notification per bookmark, linking to the post (an earlier one for it comes back as new).

    The email, if the person wants one, is queued here rather than by the
    notification sweep (``emailed_at`` is set), so it goes out at once.
    """
    if not bookmarks:
        return
    kind = Notification.Kind.REMINDER
    emailed = {b.pk for b in bookmarks if email.wanted_by(b.user)}
    pairs = {(b.user_id, b.post_id): b for b in bookmarks}
    earlier = Notification.objects.filter(
        kind=kind, user_id__in={u for u, _ in pairs}, post_id__in={p for _, p in pairs}
    ).values_list("pk", "user_id", "post_id")
    again = {(user_id, post_id): pk for pk, user_id, post_id in earlier if (user_id, post_id) in pairs}
    for (user_id, post_id), pk in again.items():
        Notification.objects.filter(pk=pk).update(
            created_at=now, read_at=None, emailed_at=now, email_sent=pairs[(user_id, post_id)].pk in emailed
        )
    Notification.objects.bulk_create(
        [
            Notification(
                user_id=b.user_id,
                post_id=b.post_id,
                kind=kind,
                actor=None,
                created_at=now,
                emailed_at=now,
                email_sent=b.pk in emailed,
            )
            for key, b in pairs.items()
            if key not in again
        ]
    )
