"""The email a due reminder sends, for people whose email settings ask for it.

It is queued in the transaction that delivers the reminder (bookmarks.services)
and checked again just before it is sent: a bookmark removed, a reminder moved,
or a post the person may no longer read by then, and it stays unsent.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from accounts import unsubscribe
from accounts.models import User
from bookmarks.models import Bookmark
from core.mail import one_line, queue_email
from discussions.models import Post
from notifications.models import Notification

SEND_CHECK = "bookmark-reminder"


def wanted_by(user: User) -> bool:
    """The person ticked "a reminder I set is due" and has not paused email."""
    return Notification.Kind.REMINDER in (user.email_notifications or []) and not user.email_paused


def queue_reminder(bookmark: Bookmark) -> None:
    site = settings.SITE_URL
    post, user = bookmark.post, bookmark.user
    thread = post.thread
    context: dict[str, Any] = {
        "person": user,
        "bookmark": bookmark,
        "post": post,
        "thread": thread,
        "link": site + reverse("discussions:post", kwargs={"pk": post.pk}),
        "bookmarks_url": site + reverse("bookmarks:list"),
        "preferences_url": site + reverse("digests:preferences"),
        "unsubscribe_url": unsubscribe.kind_url(user, Notification.Kind.REMINDER, thread.community_id),
        "site_name": settings.COPSITE_NAME,
    }
    queue_email(
        to=user.email,
        subject=one_line(render_to_string("bookmarks/email/reminder_subject.txt", context), 200),
        text=render_to_string("bookmarks/email/reminder.txt", context),
        html=render_to_string("bookmarks/email/reminder.html", context),
        kind="bookmark.reminder",
        headers=unsubscribe.kind_headers(
            user, Notification.Kind.REMINDER, thread.community_id, context["unsubscribe_url"]
        ),
        about={
            "check": SEND_CHECK,
            "user": user.pk,
            "bookmark": bookmark.pk,
            "post": post.pk,
            "remind_at": bookmark.remind_at.isoformat() if bookmark.remind_at else None,
        },
    )


def still_wanted(about: dict[str, Any]) -> bool:
    """Send-time check (registered in BookmarksConfig.ready): the same reminder, of a post still theirs to read."""
    try:
        user_id, bookmark_id, post_id = int(about["user"]), int(about["bookmark"]), int(about["post"])
    except (KeyError, TypeError, ValueError):
        return False
    user = User.objects.filter(pk=user_id, is_active=True, deleted_at__isnull=True).first()
    if user is None or user.email_paused:
        return False
    bookmark = Bookmark.objects.filter(pk=bookmark_id, user=user, post_id=post_id).first()
    if bookmark is None or bookmark.remind_at is None or bookmark.remind_at.isoformat() != about.get("remind_at"):
        return False
    return Post.objects.readable_by(user).filter(pk=post_id).exists()
