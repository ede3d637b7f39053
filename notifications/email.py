"""Email for in-app notifications: right away for the kinds a person chose, grouped per conversation.

A beat sweep (every 2 minutes) reads notifications not yet handled. For each
person and conversation (a thread; an event; a community's join requests) it
sends at most one email an hour; the rest are marked handled (the digest and
the bell still show them). Rows are marked in the same transaction that
queues the email, so a retried sweep sends nothing twice.

Whether a notification may be mailed is decided now and again at send time,
by the rule the bell uses (``Notification.is_shown_to``): a post hidden, held
or deleted since, a community left, a review queue no longer kept, is left out
(``still_readable`` writes the email again without it, or drops it).

Each email shows its ``SHOWN_AT_MOST`` newest notifications, then "and N
more"; it carries List-Unsubscribe for its kind (one click turns off that
kind only) and a footer link to the email settings. ``message_headers`` is
the one place its headers are assembled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from accounts import unsubscribe
from accounts.models import User
from communities import policy
from core.mail import Rewritten, one_line, queue_email
from discussions.models import Post
from notifications import alerts, display
from notifications.models import FACILITATOR_KINDS, AlertCadence, Notification
from replies.tokens import reply_address

GROUP_WINDOW = timedelta(hours=1)
BATCH = 500
# One email shows at most this many of its conversation's notifications, newest first, then "and N more".
SHOWN_AT_MOST = 10
# Mailed by the app that knows the details (events' reminder email, sent whatever the bell does).
MAILED_ELSEWHERE = frozenset({Notification.Kind.EVENT_REMINDER})

Conversation = tuple[str, int]


def _conversation(post_thread_id: int | None, event_id: int | None, community_id: int | None) -> Conversation:
    if post_thread_id is not None:
        return ("thread", post_thread_id)
    if event_id is not None:
        return ("event", event_id)
    return ("community", community_id or 0)


def conversation_of(note: Notification) -> Conversation:
    return _conversation(note.post.thread_id if note.post is not None else None, note.event_id, note.community_id)


def sweep(now: datetime) -> int:
    """Queue notification emails that are due; returns how many emails were queued."""
    queued = 0
    with transaction.atomic():
        pending = list(
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(emailed_at__isnull=True, created_at__gte=now - timedelta(days=2))
            .select_related("user", "actor", "post__thread__community", "event__community", "community")
            .order_by("created_at")[:BATCH]
        )
        if not pending:
            return 0
        users = {n.user_id for n in pending}
        # Conversations that already got an email this hour, per person.
        recent = {
            (user_id, _conversation(thread_id, event_id, community_id))
            for user_id, thread_id, event_id, community_id in Notification.objects.filter(
                user_id__in=users, emailed_at__gte=now - GROUP_WINDOW, email_sent=True
            ).values_list("user_id", "post__thread_id", "event_id", "community_id")
        }
        groups: dict[tuple[int, Conversation], list[Notification]] = {}
        for n in pending:
            groups.setdefault((n.user_id, conversation_of(n)), []).append(n)
        sent_ids = []
        cadence = alerts.cadences(users)
        for (user_id, conversation), items in groups.items():
            user = items[0].user
            if (user_id, conversation) in recent or not user.is_active:
                continue
            # Decided now, not when it happened: a post hidden, held or deleted since
            # (or a thread, community or queue the person may no longer open) sends nothing.
            wanted = _still_wanted(user, items, cadence[user_id])
            if wanted:
                _send(user, wanted)
                sent_ids += [n.pk for n in wanted]
                queued += 1
        Notification.objects.filter(pk__in=[n.pk for n in pending]).update(emailed_at=now)
        Notification.objects.filter(pk__in=sent_ids).update(email_sent=True)
    return queued


def _lines(items: list[Notification]) -> list[dict[str, str]]:
    """One line per notification: its sentence, where, the post's text (for posts) and an absolute link."""
    lines = []
    for note in items:
        [row] = display.rows([note])
        lines.append(
            {
                "who": row.who,
                "says": row.says,
                "what": f"“{row.what}”" if row.quoted else row.what,
                "sentence": row.sentence,
                "where": row.where,
                "excerpt": note.post.body_text if note.post is not None else "",
                "link": settings.SITE_URL + display.target_url(note),
            }
        )
    return lines


def community_of(note: Notification) -> int | None:
    if note.post is not None:
        return note.post.thread.community_id
    if note.event is not None:
        return note.event.community_id
    return note.community_id


def unsubscribe_url(user: User, note: Notification) -> str:
    """The page (and one-click POST) that turns off emails of ``note``'s kind for ``user``."""
    return unsubscribe.kind_url(user, note.kind, community_of(note))


def message_headers(user: User, items: list[Notification], unsubscribe_link: str = "") -> dict[str, str]:
    """Every header a notification email carries beyond From/To/Subject: assembled here and nowhere else.

    ``items`` are the notifications the email tells of, newest first; the
    newest decides the email's kind, and so which kind one click turns off
    (List-Unsubscribe with its RFC 8058 one-click POST), and about a post the
    Reply-To that answers under it. ``unsubscribe_link``: the footer's
    ``unsubscribe_url``, so both carry the same link.
    """
    newest = items[0]
    return _reply_to(user, newest, unsubscribe.kind_headers(user, newest.kind, community_of(newest), unsubscribe_link))


@dataclass(frozen=True)
class Composed:
    kind: str
    subject: str
    text: str
    html: str
    headers: dict[str, str]


def compose(user: User, items: list[Notification]) -> Composed:
    """The email for ``items`` (one conversation): the SHOWN_AT_MOST newest in full, then how many more."""
    newest_first = sorted(items, key=lambda n: (n.created_at, n.pk), reverse=True)
    first = newest_first[0]
    shown = newest_first[:SHOWN_AT_MOST]
    if len(items) > 1 and first.post is not None:
        subject = f"{len(items)} updates in “{first.post.thread.title}”"
    else:
        subject = display.rows(newest_first)[0].sentence
    more = len(newest_first) - len(shown)
    link = unsubscribe_url(user, first)
    context: dict[str, Any] = {
        "person": user,
        "items": _lines(shown),
        "more": more,
        "more_url": settings.SITE_URL + reverse("notifications:list"),
        "site_url": settings.SITE_URL,
        "site_name": settings.COPSITE_NAME,
        "preferences_url": settings.SITE_URL + reverse("digests:preferences"),
        "unsubscribe_url": link,
        "kind_label": KIND_PHRASES.get(first.kind, first.get_kind_display()),
    }
    return Composed(
        kind=f"notification.{first.kind}",
        subject=one_line(subject, 200),
        text=render_to_string("notifications/email/notification.txt", context),
        html=render_to_string("notifications/email/notification.html", context),
        headers=message_headers(user, newest_first, link),
    )


# How the footer names the emails one click stops ("Stop emails when someone replies to you").
KIND_PHRASES = {
    "reply": "someone replies to you",
    "mention": "someone mentions you",
    "accepted": "your answer is accepted",
    "helpful": "someone finds your post helpful",
    "hidden": "a facilitator hides your post",
    "reminder": "a reminder you set is due",
    "new_thread": "a thread starts in a community you watch",
    "watching": "someone posts in a thread you watch",
    "event_reminder": "an event you're going to starts soon",
    "join_request": "someone asks to join a community you facilitate",
    "flagged": "a member flags a post in a community you facilitate",
    "held": "a post waits for review in a community you facilitate",
    "unanswered": "a newcomer's question waits a day for an answer in a community you facilitate",
    "buddy_post": "a newcomer you're a buddy to writes their first post",
}


def _send(user: User, items: list[Notification]) -> None:
    mail = compose(user, items)
    queue_email(
        to=user.email,
        subject=mail.subject,
        text=mail.text,
        html=mail.html,
        kind=mail.kind,
        headers=mail.headers,
        about={"check": SEND_CHECK, "user": user.pk, "notifications": [n.pk for n in items]},
    )


def _reply_to(user: User, note: Notification, headers: dict[str, str]) -> dict[str, str]:
    """About a post in a thread: answering the email replies under that post (replies/tokens.py)."""
    if note.post is not None and (address := reply_address(user, note.post.thread, note.post)):
        headers = {**headers, "Reply-To": address}
    return headers


SEND_CHECK = "notification"


def _still_wanted(user: User, notes: list[Notification], cadence: str) -> list[Notification]:
    """Of ``notes``, those ``user`` still wants by email now and may still read (checked through the policy now).

    Review work (``FACILITATOR_KINDS``) goes out here only for those who want it
    right away (``cadence``, notifications/alerts.py): the daily email and "off" leave it to the bell.
    """
    if user.email_paused:
        return []
    chosen = set(user.email_notifications or []) - MAILED_ELSEWHERE
    if cadence == AlertCadence.IMMEDIATELY:
        # No choice of its own beside the cadence: wanted with the rest of the review work.
        chosen.add(Notification.Kind.UNANSWERED)
    else:
        chosen -= set(FACILITATOR_KINDS)
    # Review work settled before the email went out (a flag dismissed, a question answered) is not news.
    return [
        note
        for note in notes
        if note.kind in chosen
        and not (note.kind in FACILITATOR_KINDS and note.read_at is not None)
        and note.is_shown_to(user)
    ]


def still_readable(about: dict[str, Any]) -> bool | Rewritten:
    """Send-time check (registered in NotificationsConfig.ready): only what the person may still read goes out.

    A retry may come long after the sweep. Each notification is asked again:
    a post hidden, held or deleted since, a thread moved where the person
    cannot follow, a membership ended or banned, a kind turned off, leaves
    that one out (the email is written again without it); with nothing left
    the email is dropped.
    """
    user_id = about.get("user")
    user = User.objects.filter(pk=user_id, is_active=True).first() if user_id is not None else None
    if user is None:
        return False
    if "notifications" in about:
        wanted = set(about.get("notifications") or [])
        notes = list(
            Notification.objects.filter(pk__in=wanted, user=user).select_related(
                "actor", "post__thread__community", "event__community", "community"
            )
        )
        left = _still_wanted(user, notes, alerts.cadence_of(user))
        if not left:
            return False
        if len(left) == len(wanted):
            return True
        mail = compose(user, left)
        return Rewritten(subject=mail.subject, text=mail.text, html=mail.html, headers=mail.headers)
    # Emails queued before notifications had other targets than posts name their posts.
    posts = list(Post.objects.filter(pk__in=set(about.get("posts") or [])).select_related("thread__community"))
    return len(posts) == len(set(about.get("posts") or [])) and all(
        policy.can_view_thread(user, post.thread) and policy.can_see_post_content(user, post) for post in posts
    )
