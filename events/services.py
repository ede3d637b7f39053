"""Events and hosted chats: scheduling writes, the chat runner and reminders.

The runner is idempotent by database state: the event row is locked to open
the live thread once, and each question row is locked and linked to its post
in the same transaction, so a late, restarted or duplicated beat/worker
posts every question exactly once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction

from accounts import unsubscribe
from accounts.models import User
from communities import audit, policy
from communities.models import Community
from core import pagecache
from core.mail import one_line, queue_templated_email
from core.markup import RENDER_VERSION, render_markdown
from core.refusals import Refused
from discussions import services
from discussions.models import Thread
from events import signals
from events.models import RSVP, Event, EventQuestion

REMINDER_AHEAD = timedelta(hours=1)


class EventError(Refused):
    """An event action that can't happen; the message is shown to the person."""


@dataclass(frozen=True)
class PlannedQuestion:
    minute: int
    text: str


def parse_questions(text: str) -> list[PlannedQuestion]:
    """One question per line, each starting with its minute: ":05 What brought you here?" or "5 …"."""
    questions = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        head, _, rest = line.lstrip(":").partition(" ")
        # isdecimal, not isdigit: "²" is a digit that int() refuses.
        if not head.isdecimal() or not rest.strip():
            raise ValueError(f"Line {number}: start with the minute, e.g. “:05 What brought you here?”.")
        minute = int(head)
        if minute > 24 * 60:
            raise ValueError(f"Line {number}: the minute must be within the chat.")
        if len(" ".join(rest.split())) > 500:
            raise ValueError(f"Line {number}: keep each question under 500 characters.")
        questions.append(PlannedQuestion(minute, one_line(rest, 500)))
    if len(questions) > 30:
        raise ValueError("Keep a chat to at most 30 questions.")
    return sorted(questions, key=lambda q: q.minute)


def questions_text(event: Event) -> str:
    return "\n".join(f":{q.minute:02d} {q.text}" for q in event.questions.all())


@transaction.atomic
def create_event(
    actor: User,
    community: Community,
    *,
    fields: dict[str, Any],
    questions: list[PlannedQuestion],
    hosts: Iterable[User] | None,
) -> Event:
    if not policy.can_manage_events(actor, community):
        raise EventError("Only facilitators can schedule events.")
    host = urlsplit(settings.SITE_URL).hostname or "copsite"
    event = Event(community=community, created_by=actor, uid=f"{uuid.uuid4()}@{host}", **fields)
    event.description_html, event.render_version = render_markdown(event.description), RENDER_VERSION
    event.save()
    event.hosts.set(hosts or [actor])
    EventQuestion.objects.bulk_create(
        EventQuestion(event=event, position=i, text=q.text, minute=q.minute) for i, q in enumerate(questions, 1)
    )
    audit.record(event.community, actor, "event.create", detail=f"event “{event.title}”")
    pagecache.touched(community)
    signals.event_saved.send(Event, event=event, actor=actor)
    return event


@transaction.atomic
def update_event(
    actor: User, event: Event, *, fields: dict[str, Any], questions: list[PlannedQuestion], hosts: Iterable[User] | None
) -> Event:
    event = Event.objects.select_for_update(of=("self",)).select_related("community").get(pk=event.pk)
    if not policy.can_manage_events(actor, event.community):
        raise EventError("Only facilitators can edit events.")
    for name, value in fields.items():
        setattr(event, name, value)
    event.description_html, event.render_version = render_markdown(event.description), RENDER_VERSION
    event.sequence += 1
    event.save()
    if hosts:
        event.hosts.set(hosts)
    # Questions already posted stay as they are; the rest follow the new plan.
    posted = list(event.questions.filter(post__isnull=False))
    event.questions.filter(post__isnull=True).delete()
    start = len(posted) + 1
    EventQuestion.objects.bulk_create(
        EventQuestion(event=event, position=start + i, text=q.text, minute=q.minute)
        for i, q in enumerate(questions[len(posted) :])
    )
    audit.record(event.community, actor, "event.edit", detail=f"event “{event.title}”")
    pagecache.touched(event.community)
    signals.event_saved.send(Event, event=event, actor=actor)
    return event


@transaction.atomic
def cancel_event(actor: User, event: Event) -> Event:
    event = Event.objects.select_for_update(of=("self",)).select_related("community").get(pk=event.pk)
    if not policy.can_manage_events(actor, event.community):
        raise EventError("Only facilitators can cancel events.")
    if event.cancelled_at is not None:
        return event
    from django.utils import timezone

    event.cancelled_at = timezone.now()
    event.sequence += 1
    event.save(update_fields=["cancelled_at", "sequence"])
    going = RSVP.objects.filter(event=event, answer=RSVP.Answer.GOING).select_related("user")
    for rsvp in going:
        # Paused email means paused (accounts.services.pause_email): the event's page says it is cancelled.
        if rsvp.user.is_active and not rsvp.user.email_paused:
            _mail(rsvp.user, event, "event_cancelled", kind="event.cancelled")
    audit.record(event.community, actor, "event.cancel", detail=f"event “{event.title}”")
    pagecache.touched(event.community)
    return event


def rsvp(user: User, event: Event, answer: str) -> RSVP:
    if not policy.can_rsvp(user, event):
        raise EventError("Join the community to answer.")
    if answer not in RSVP.Answer.values:
        raise EventError("Choose going, maybe or not going.")
    with transaction.atomic():
        row, _ = RSVP.objects.update_or_create(event=event, user=user, defaults={"answer": answer})
        pagecache.touched(event.community)  # the counts on its page
    return row


def _mail(user: User, event: Event, template: str, kind: str, *, choice: str = "", **context: Any) -> None:
    """``choice``: the email setting (``User.email_notifications``) the mail is sent for; its footer and
    List-Unsubscribe turn that one off."""
    headers = {"Auto-Submitted": "auto-generated"}
    if choice:
        context["unsubscribe_url"] = unsubscribe.kind_url(user, choice, event.community_id)
        headers = unsubscribe.kind_headers(user, choice, event.community_id, context["unsubscribe_url"])
    queue_templated_email(
        to=user.email,
        template=f"events/email/{template}",
        context={"person": user, "event": event, **context},
        kind=kind,
        headers=headers,
    )


# --- The chat runner -------------------------------------------------------------------


def _host_of(event: Event) -> User:
    host = event.hosts.order_by("pk").first() or event.created_by
    if host is None:  # no host left and the creator's account deleted outright (the admin): nobody to post as
        raise RuntimeError(f"Event {event.pk} has no host to post its chat as.")
    return host


def open_chat(event: Event) -> Thread | None:
    """Create the live thread with the host's welcome, once."""
    with transaction.atomic():
        event = Event.objects.select_for_update(of=("self",)).select_related("community").get(pk=event.pk)
        if event.thread_id or event.cancelled_at is not None:
            return event.thread
        host = _host_of(event)
        welcome = event.welcome or (
            f"Welcome to **{event.title}**! Questions will appear here one after another: "
            "answer under each question, and reply to each other."
        )
        thread = services.start_thread(host, event.community, title=event.title, body=welcome, kind=Thread.Kind.CHAT)
        event.thread = thread
        event.save(update_fields=["thread"])
        return thread


def post_due_questions(event: Event, now: datetime) -> int:
    """Post every question whose minute has come and that has no post yet. Returns how many."""
    if event.thread_id is None:  # not open yet (run_chats opens it first)
        return 0
    posted = 0
    due = [
        q.pk for q in event.questions.filter(post__isnull=True) if event.starts_at + timedelta(minutes=q.minute) <= now
    ]
    for question_id in due:
        with transaction.atomic():
            # skip_locked: a second runner busy with this question moves on; re-checking
            # post__isnull under the lock makes the post happen once.
            question = (
                EventQuestion.objects.select_for_update(skip_locked=True)
                .filter(pk=question_id, post__isnull=True, event__cancelled_at__isnull=True)
                .first()
            )
            if question is None:
                continue
            thread = Thread.objects.get(pk=event.thread_id)
            body = f"**Q{question.position}.** {question.text}"
            post = services.reply(_host_of(event), thread, body, submission_key=f"chat-q-{question.pk}")
            question.post = post
            question.save(update_fields=["post"])
            posted += 1
    return posted


def run_chats(now: datetime) -> int:
    """Open chats that have started and post their due questions (late runs catch up; nothing twice)."""
    posted = 0
    running = Event.objects.filter(
        kind=Event.Kind.CHAT, cancelled_at__isnull=True, starts_at__lte=now, starts_at__gte=now - timedelta(days=2)
    ).select_related("community")
    for event in running:
        if event.thread_id is None:
            open_chat(event)
            event.refresh_from_db(fields=["thread"])
        if event.thread_id:
            posted += post_due_questions(event, now)
    return posted


def time_left(starts_at: datetime, now: datetime) -> str:
    """How long until ``starts_at``, as a reminder says it: "in 2 minutes", "in 45 minutes", "in 1 hour".

    To the nearest minute. A reminder goes out when the minute's beat first
    finds the event within the hour, which may be much later than an hour
    ahead (an RSVP two minutes before the start, a beat that was down), so
    the mail says what is actually left, not "in an hour".
    """
    seconds = (starts_at - now).total_seconds()
    if seconds < 60:
        return "in less than a minute"
    hours, minutes = divmod(round(seconds / 60), 60)
    parts = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in ((hours, "hour"), (minutes, "minute")) if n]
    return "in " + " ".join(parts)


# The person's choice among their email_notifications (notifications' kind of the same name).
REMINDER_EMAIL_CHOICE = "event_reminder"


def send_reminders(now: datetime) -> int:
    """Remind people going to an event that starts within the hour, once each: in the bell, by email if they want.

    The email says how long is left. Returns how many emails were queued.
    """
    sent = 0
    with transaction.atomic():
        rows = list(
            RSVP.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                answer=RSVP.Answer.GOING,
                reminded_at__isnull=True,
                event__cancelled_at__isnull=True,
                event__starts_at__gt=now,
                event__starts_at__lte=now + REMINDER_AHEAD,
            )
            .select_related("user", "event__community")[:500]
        )
        for row in rows:
            user = row.user
            if not (user.is_active and policy.can_view_event(user, row.event)):
                continue
            signals.reminder_due.send(Event, event=row.event, user=user)
            if not user.email_paused and REMINDER_EMAIL_CHOICE in (user.email_notifications or []):
                starts_in = time_left(row.event.starts_at, now)
                _mail(
                    user,
                    row.event,
                    "event_reminder",
                    kind="event.reminder",
                    choice=REMINDER_EMAIL_CHOICE,
                    starts_in=starts_in,
                )
                sent += 1
        RSVP.objects.filter(pk__in=[r.pk for r in rows]).update(reminded_at=now)
    return sent
