"""Email for in-app notifications: right away for the kinds a person chose, grouped per thread.

A beat sweep (every 2 minutes) reads notifications not yet handled. For each
person and thread it sends at most one email an hour; the rest are marked
handled (the digest and the bell still show them). Rows are marked in the
same transaction that queues the email, so a retried sweep sends nothing twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.models import User
from communities import policy
from core.mail import one_line, queue_email
from discussions.models import Post, Thread
from notifications.models import Notification

GROUP_WINDOW = timedelta(hours=1)
BATCH = 500


def sweep(now: datetime) -> int:
    """Queue notification emails that are due; returns how many emails were queued."""
    queued = 0
    with transaction.atomic():
        pending = list(
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(emailed_at__isnull=True, created_at__gte=now - timedelta(days=2))
            .select_related("user", "actor", "post__thread__community")
            .order_by("created_at")[:BATCH]
        )
        if not pending:
            return 0
        users = {n.user_id for n in pending}
        threads = {n.post.thread_id for n in pending}
        # Threads that already got an email this hour, per person.
        recent = set(
            Notification.objects.filter(
                user_id__in=users, post__thread_id__in=threads, emailed_at__gte=now - GROUP_WINDOW
            )
            .exclude(emailed_at=None)
            .filter(email_sent=True)
            .values_list("user_id", "post__thread_id")
        )
        groups: dict[tuple[int, int], list[Notification]] = {}
        for n in pending:
            groups.setdefault((n.user_id, n.post.thread_id), []).append(n)
        sent_ids = []
        for (user_id, thread_id), items in groups.items():
            user = items[0].user
            thread = items[0].post.thread
            # Decided now, not when the post was made: a post hidden, held or deleted since
            # (or a thread the person may no longer open) sends nothing.
            wanted = [
                n
                for n in items
                if n.kind in (user.email_notifications or []) and policy.can_see_post_content(user, n.post)
            ]
            if (
                wanted
                and (user_id, thread_id) not in recent
                and not user.email_paused
                and user.is_active
                and policy.can_view_thread(user, thread)
            ):
                _send(user, thread, wanted)
                sent_ids += [n.pk for n in wanted]
                queued += 1
        Notification.objects.filter(pk__in=[n.pk for n in pending]).update(emailed_at=now)
        Notification.objects.filter(pk__in=sent_ids).update(email_sent=True)
    return queued


def _send(user: User, thread: Thread, items: list[Notification]) -> None:
    site = settings.SITE_URL
    first = items[0]
    verb = first.get_kind_display()
    actor = first.actor.name if first.actor else "Someone"
    subject = f"{actor} {verb} in “{thread.title}”"
    if len(items) > 1:
        subject = f"{len(items)} updates in “{thread.title}”"
    context: dict[str, Any] = {
        "person": user,
        "thread": thread,
        "items": items,
        "site_url": site,
        "site_name": settings.COPSITE_NAME,
        "links": {n.pk: site + reverse("discussions:post", kwargs={"pk": n.post_id}) for n in items},
        "preferences_url": site + reverse("digests:preferences"),
    }
    for n in items:
        n.link = context["links"][n.pk]
    queue_email(
        to=user.email,
        subject=one_line(subject, 200),
        text=render_to_string("notifications/email/notification.txt", context),
        html=render_to_string("notifications/email/notification.html", context),
        kind=f"notification.{first.kind}",
        headers={"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"},
        about={"check": SEND_CHECK, "user": user.pk, "posts": [n.post_id for n in items]},
    )


SEND_CHECK = "notification"


def still_readable(about: dict[str, Any]) -> bool:
    """Send-time check (registered in DigestsConfig.ready): every post the email quotes is still the person's to read.

    A retry may come long after the sweep; one post hidden, held or deleted
    since drops the whole email (the others stay in the bell and the digest).
    """
    user_id = about.get("user")
    user = User.objects.filter(pk=user_id, is_active=True).first() if user_id is not None else None
    if user is None:
        return False
    wanted = set(about.get("posts") or [])
    posts = list(Post.objects.filter(pk__in=wanted).select_related("thread__community"))
    return len(posts) == len(wanted) and all(
        policy.can_view_thread(user, post.thread) and policy.can_see_post_content(user, post) for post in posts
    )
