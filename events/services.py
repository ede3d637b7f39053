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
from datetime import date, datetime, timedelta
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
from events import recurrence, signals
from events.models import RSVP, Event, EventQuestion, EventSeries

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
    if "starts_at" in fields and fields["starts_at"] != event.starts_at:
        RSVP.objects.filter(event=event).update(reminded_at=None)  # the reminder goes before the new time
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


RELATIVE_UP_TO = 6 * 60  # minutes: nearer than this a reminder counts the time left; further, it names the day


def time_left(starts_at: datetime, now: datetime, time_zone: str = "UTC") -> str:
    """How long until ``starts_at``, as a reminder says it: "in 2 minutes", "in 1 hour", "tomorrow at 18:00".

    To the nearest minute. A reminder goes out when the minute's beat first
    finds the event within the hour, which may be much later than an hour
    ahead (an RSVP two minutes before the start, a beat that was down), so
    the mail says what is actually left, not "in an hour". From six hours
    ahead it names the day on the reader's clock (``time_zone``) instead:
    "today at 21:00", "tomorrow at 18:00", "on Tue 3 Mar at 18:00".
    """
    seconds = (starts_at - now).total_seconds()
    if seconds < 60:
        return "in less than a minute"
    total = round(seconds / 60)
    if total < RELATIVE_UP_TO:
        hours, minutes = divmod(total, 60)
        parts = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in ((hours, "hour"), (minutes, "minute")) if n]
        return "in " + " ".join(parts)
    tz = recurrence.zone(time_zone)
    start, today = starts_at.astimezone(tz), now.astimezone(tz).date()
    days = (start.date() - today).days
    clock = f"{start:%H:%M}"
    if days == 0:
        return f"today at {clock}"
    if days == 1:
        return f"tomorrow at {clock}"
    return f"on {start:%a} {start.day} {start:%b} at {clock}"


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
                starts_in = time_left(row.event.starts_at, now, user.time_zone)
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


# --- Recurring events --------------------------------------------------------------------

SERIES_FIELDS = ("title", "kind", "description", "link", "place", "hashtag", "welcome")


@dataclass(frozen=True)
class Repeat:
    """How a series repeats, as the event form reads it (``EventForm.repeat``)."""

    frequency: str
    interval: int = 1
    weekdays: tuple[int, ...] = ()
    month_week: int | None = None
    until: date | None = None
    count: int | None = None
    skip_dates: tuple[date, ...] = ()


def _apply_repeat(series: EventSeries, repeat: Repeat) -> None:
    series.frequency = repeat.frequency
    series.interval = repeat.interval if repeat.frequency == EventSeries.Frequency.WEEKLY else 1
    series.weekdays = ",".join(str(d) for d in sorted(set(repeat.weekdays)))
    series.month_week = repeat.month_week if repeat.frequency == EventSeries.Frequency.MONTHLY else None
    series.until, series.count = repeat.until, repeat.count
    series.skip_dates = sorted({d.isoformat() for d in repeat.skip_dates})


def _apply_fields(series: EventSeries, fields: dict[str, Any], questions: list[PlannedQuestion]) -> None:
    for name in SERIES_FIELDS:
        if name in fields:
            setattr(series, name, fields[name])
    tz = recurrence.zone(fields["time_zone"])
    local = fields["starts_at"].astimezone(tz)
    series.time_zone = fields["time_zone"]
    series.start_date, series.start_time = local.date(), local.time().replace(tzinfo=None)
    series.duration = int((fields["ends_at"] - fields["starts_at"]).total_seconds() // 60)
    series.questions = "\n".join(f":{q.minute:02d} {q.text}" for q in questions)


def _new_uid() -> str:
    return f"{uuid.uuid4()}@{urlsplit(settings.SITE_URL).hostname or 'copsite'}"


def _occurrence_fields(series: EventSeries, day: date) -> dict[str, Any]:
    starts_at = recurrence.local_start(series, day)
    return {
        **{name: getattr(series, name) for name in SERIES_FIELDS},
        "time_zone": series.time_zone,
        "starts_at": starts_at,
        "ends_at": starts_at + timedelta(minutes=series.duration),
    }


def _make_occurrence(series: EventSeries, day: date) -> Event:
    event = Event(
        community=series.community,
        created_by=series.created_by,
        uid=f"{day:%Y%m%d}-{series.uid}",
        series=series,
        occurrence_date=day,
        **_occurrence_fields(series, day),
    )
    event.description_html, event.render_version = render_markdown(event.description), RENDER_VERSION
    event.save()
    if series.created_by_id:
        event.hosts.add(series.created_by_id)
    planned = parse_questions(series.questions)
    EventQuestion.objects.bulk_create(
        EventQuestion(event=event, position=i, text=q.text, minute=q.minute) for i, q in enumerate(planned, 1)
    )
    return event


def _extend(series: EventSeries, today: date) -> list[Event]:
    """Make the occurrences up to ``today`` + WINDOW that do not exist yet (the series row is locked)."""
    horizon = today + recurrence.WINDOW
    have = set(Event.objects.filter(series=series).values_list("occurrence_date", flat=True))
    made = [
        _make_occurrence(series, day)
        for day in recurrence.occurrence_dates(series)
        if today <= day <= horizon and day not in have
    ]
    dates = recurrence.rule_dates(series)
    # A series whose every date is made is left alone by the daily beat from then on.
    series.made_until = date.max if not dates or dates[-1] <= horizon else horizon
    series.save(update_fields=["made_until"])
    return made


@transaction.atomic
def create_series(
    actor: User,
    community: Community,
    *,
    fields: dict[str, Any],
    questions: list[PlannedQuestion],
    repeat: Repeat,
    today: date | None = None,
) -> Event:
    """Schedule a recurring event; returns its first occurrence (made now, with those of the next 92 days)."""
    if not policy.can_manage_events(actor, community):
        raise EventError("Only facilitators can schedule events.")
    series = EventSeries(community=community, created_by=actor, uid=_new_uid())
    _apply_fields(series, fields, questions)
    _apply_repeat(series, repeat)
    series.save()
    start = series.start_date if today is None else min(today, series.start_date)
    made = _extend(series, start)
    if not made:
        raise EventError("No occurrence of this series falls within the next 92 days: start it sooner.")
    audit.record(community, actor, "event.create", detail=f"series “{series.title}”, {recurrence.describe(series)}")
    pagecache.touched(community)
    signals.event_saved.send(Event, event=made[0], actor=actor)
    return made[0]


def extend_series(today: date) -> int:
    """The daily beat: every series that goes on gets its occurrences up to 92 days ahead. Idempotent
    (the series row is locked; one event per (series, date) is a constraint). Returns how many were made."""
    made = 0
    ongoing = EventSeries.objects.filter(made_until__lt=today + recurrence.WINDOW).values_list("pk", flat=True)
    for pk in list(ongoing):
        with transaction.atomic():
            series = EventSeries.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
            if series is None:
                continue
            new = _extend(series, today)
            made += len(new)
            if new:
                pagecache.touched(series.community)
    return made


def _locked_occurrence(event: Event) -> tuple[Event, EventSeries]:
    event = Event.objects.select_for_update(of=("self",)).select_related("community").get(pk=event.pk)
    if event.series_id is None or event.occurrence_date is None:
        raise EventError("This event is not part of a series.")
    series = EventSeries.objects.select_for_update().get(pk=event.series_id)
    return event, series


@transaction.atomic
def cancel_occurrence(actor: User, event: Event) -> Event:
    """Cancel one occurrence: its date becomes a skipped date of the series (EXDATE), those going are told."""
    event, series = _locked_occurrence(event)
    if not policy.can_manage_events(actor, event.community):
        raise EventError("Only facilitators can cancel events.")
    day = event.occurrence_date.isoformat() if event.occurrence_date else ""
    if day not in series.skip_dates:
        series.skip_dates = sorted([*series.skip_dates, day])
        series.sequence += 1
        series.save(update_fields=["skip_dates", "sequence"])
    return cancel_event(actor, event)


@transaction.atomic
def edit_occurrence(actor: User, event: Event, *, fields: dict[str, Any], questions: list[PlannedQuestion]) -> Event:
    """ "This occurrence only": the occurrence no longer follows the series (iCal: an override with
    RECURRENCE-ID). Its RSVPs stay if its time did not change; if it did, as in ``edit_following``."""
    event, series = _locked_occurrence(event)
    moved = (event.starts_at, event.ends_at) != (fields["starts_at"], fields["ends_at"])
    event = update_event(actor, event, fields=fields, questions=questions, hosts=None)
    if moved:
        _clear_answers(event)
    Event.objects.filter(pk=event.pk).update(detached=True)
    event.detached = True
    series.sequence += 1
    series.save(update_fields=["sequence"])
    return event


@dataclass(frozen=True)
class Split:
    """What "this and following" did: the occurrences kept (RSVPs and all), moved (answers cleared,
    those who had answered told), and dropped (no longer on the rule: cancelled, or deleted if nobody answered)."""

    first: Event
    kept: int
    moved: int
    dropped: int


@transaction.atomic
def edit_following(
    actor: User,
    event: Event,
    *,
    fields: dict[str, Any],
    questions: list[PlannedQuestion],
    repeat: Repeat,
    today: date | None = None,
) -> Split:
    """ "This and following": the series ends the day before this occurrence and a new one starts here.

    Occurrences from here on that fall on a date of the new rule move to the new series. One whose
    local start time stays the same keeps its RSVPs; one whose time changed keeps its page and chat
    but its answers are cleared (nobody is counted as going to a time they did not say yes to) and
    those who had answered going or maybe get an email with the new time. An occurrence no longer on
    the rule is deleted if nobody answered, else cancelled (those going are told). Occurrences edited
    on their own ("this occurrence only") keep their own time and RSVPs.
    """
    event, old = _locked_occurrence(event)
    if not policy.can_manage_events(actor, event.community):
        raise EventError("Only facilitators can edit events.")
    split_day = event.occurrence_date
    assert split_day is not None
    earlier = [d for d in recurrence.rule_dates(old) if d < split_day]
    new_start = fields["starts_at"].astimezone(recurrence.zone(fields["time_zone"])).date()
    if earlier and new_start <= earlier[-1]:
        raise EventError(f"The following occurrences must start after the previous one, on {earlier[-1]:%-d %B %Y}.")
    if earlier:
        new = EventSeries(community=old.community, created_by=old.created_by, uid=_new_uid())
        old.until, old.count = earlier[-1], None
        old.skip_dates = [d for d in old.skip_dates if d < split_day.isoformat()]
        old.sequence += 1
        old.save()
    else:
        new = old  # the first occurrence: the whole series changes
        new.sequence += 1
    _apply_fields(new, fields, questions)
    _apply_repeat(new, repeat)
    new.save()
    dates = set(recurrence.occurrence_dates(new))
    following = list(
        Event.objects.select_for_update(of=("self",))
        .filter(series=old, occurrence_date__gte=split_day, cancelled_at__isnull=True)
        .select_related("community")
    )
    kept = moved = dropped = 0
    first = event
    for occurrence in following:
        day = occurrence.occurrence_date
        assert day is not None
        if occurrence.detached and occurrence.pk != event.pk:
            occurrence.series = new if day in dates else None
            occurrence.occurrence_date = day if day in dates else None
            occurrence.save(update_fields=["series", "occurrence_date"])
            continue
        if day not in dates:
            if occurrence.rsvps.exists():
                cancel_event(actor, occurrence)
                Event.objects.filter(pk=occurrence.pk).update(series=None, occurrence_date=None)
            else:
                occurrence.delete()
            dropped += 1
            continue
        target = _occurrence_fields(new, day)
        time_changed = (occurrence.starts_at, occurrence.ends_at) != (target["starts_at"], target["ends_at"])
        Event.objects.filter(pk=occurrence.pk).update(series=new, detached=False)
        occurrence.series, occurrence.detached = new, False
        update_event(actor, occurrence, fields=target, questions=questions, hosts=None)
        if time_changed:
            _clear_answers(occurrence)
            moved += 1
        else:
            kept += 1
    _extend(new, today or min(split_day, new.start_date))
    # The occurrence the form was opened on, or (moved to another day) the new series' first.
    first = (
        Event.objects.filter(series=new, occurrence_date__gte=min(split_day, new.start_date))
        .order_by("occurrence_date")
        .first()
        or first
    )
    return Split(first=first, kept=kept, moved=moved, dropped=dropped)


def _clear_answers(event: Event) -> None:
    """The occurrence moved: answers to the old time are cleared, and those who had said yes or maybe are told."""
    event.refresh_from_db()
    rows = RSVP.objects.filter(event=event).select_related("user")
    for row in rows:
        if row.answer != RSVP.Answer.NOT_GOING and row.user.is_active and not row.user.email_paused:
            _mail(row.user, event, "event_moved", kind="event.moved")
    rows.delete()
