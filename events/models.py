"""Events on a community's calendar, hosted chats' questions, RSVPs and personal calendar feeds.

The tables keep the names they were created under in discussions (``db_table``):
moving the models here changed no row.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import Viewer
from communities import policy
from communities.models import Community
from discussions.models import Post, Thread


class EventQuerySet(models.QuerySet["Event"]):
    def visible_to(self, user: Viewer) -> EventQuerySet:
        """Events ``user`` may open (``policy.can_view_event``): the one definition every list uses."""
        return self.filter(policy.visible_events_q(user))


class EventSeries(models.Model):
    """A recurring event: the rule its occurrences follow and what each one starts as.

    Each occurrence is its own ``Event`` (own RSVPs, chat and record), made a
    bounded window ahead (``recurrence.WINDOW``) and extended daily by the beat
    task ``events.extend_series``. Dates and the start time are on the series'
    own clock (``time_zone``): 18:00 stays 18:00 across a change of daylight
    saving time. ``skip_dates`` are the occurrences that do not happen
    (cancelled ones too); the iCal feed sends them as EXDATE.
    """

    class Frequency(models.TextChoices):
        WEEKLY = "weekly", "Weekly"
        MONTHLY = "monthly", "Monthly"

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="event_series")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    uid = models.CharField(max_length=100, unique=True)
    sequence = models.PositiveIntegerField(default=0)
    # The rule.
    frequency = models.CharField(max_length=8, choices=Frequency.choices)
    interval = models.PositiveSmallIntegerField(default=1, help_text="Weekly: every this many weeks.")
    weekdays = models.CharField(max_length=20, blank=True, help_text="Weekly: 0 (Monday) to 6, comma-separated.")
    month_week = models.SmallIntegerField(null=True, blank=True, help_text="Monthly: 1 to 4, or -1 for the last.")
    start_date = models.DateField()
    start_time = models.TimeField()
    duration = models.PositiveIntegerField(help_text="Minutes.")
    time_zone = models.CharField(max_length=64, default="UTC")
    until = models.DateField(null=True, blank=True)
    count = models.PositiveSmallIntegerField(null=True, blank=True)
    skip_dates = models.JSONField(default=list, blank=True)
    # What each new occurrence starts as (the event form's fields).
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, default="chat")
    description = models.TextField(blank=True, max_length=10_000)
    link = models.URLField(max_length=500, blank=True)
    place = models.CharField(max_length=300, blank=True)
    hashtag = models.CharField(max_length=60, blank=True)
    welcome = models.TextField(blank=True, max_length=5_000)
    questions = models.TextField(blank=True)
    # Occurrences exist up to this date (the daily extension picks up from here).
    made_until = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(until__isnull=False) | Q(count__isnull=False), name="series_ends"),
        ]

    def __str__(self) -> str:
        return f"series {self.title}"

    @property
    def rule_text(self) -> str:
        """ "Every week on Monday, 10 times": how the series repeats, as its pages say it."""
        from events import recurrence

        return recurrence.describe(self)


class Event(models.Model):
    """A date on the community's calendar; a hosted chat also runs a live thread."""

    class Kind(models.TextChoices):
        CHAT = "chat", "Hosted chat"
        CALL = "call", "Call or online meetup"
        IN_PERSON = "in_person", "In person"

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="events")
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.CHAT)
    description = models.TextField(blank=True, max_length=10_000)
    description_html = models.TextField(blank=True)
    # core.markup.RENDER_VERSION of description_html; rerender_markup picks up rows behind it.
    render_version = models.PositiveSmallIntegerField(default=0)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    time_zone = models.CharField(max_length=64, default="UTC", help_text="The time zone the host plans in.")
    link = models.URLField("meeting link", max_length=500, blank=True)
    place = models.CharField(max_length=300, blank=True)
    hashtag = models.CharField(max_length=60, blank=True)
    hosts = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="hosted_events", blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    # iCalendar: the UID stays, the SEQUENCE goes up with every change.
    uid = models.CharField(max_length=100, unique=True)
    sequence = models.PositiveIntegerField(default=0)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # Hosted chat state: the live thread and its welcome post, set once by the runner.
    thread = models.OneToOneField(Thread, null=True, blank=True, on_delete=models.SET_NULL, related_name="event")
    welcome = models.TextField(blank=True, max_length=5_000)
    # An occurrence of a series: its date in the rule (iCal's RECURRENCE-ID, on the series' clock),
    # and whether it was edited on its own ("this occurrence only") and no longer follows the series.
    series = models.ForeignKey(
        EventSeries, null=True, blank=True, on_delete=models.SET_NULL, related_name="occurrences"
    )
    occurrence_date = models.DateField(null=True, blank=True)
    detached = models.BooleanField(default=False)

    objects = EventQuerySet.as_manager()

    # Not stored: set by the calendar page, the event's live thread if the reader may follow it.
    chat: Thread | None
    # Not stored: set by My calendar and the member home (discovery/queries.py), the reader's RSVP if any.
    my_answer: str | None

    class Meta:
        db_table = "discussions_event"
        indexes = [
            # Calendar page: a community's events by start.
            models.Index(fields=["community", "starts_at"], name="event_calendar_idx"),
            # My calendar and the member home: events not over yet (few, whatever the history), by their end.
            models.Index(fields=["ends_at"], name="event_upcoming_idx"),
            # Chat runner and reminders: events starting or running around now.
            models.Index(
                fields=["starts_at", "ends_at"], name="event_time_idx", condition=Q(cancelled_at__isnull=True)
            ),
        ]
        constraints = [
            # Materialising a series twice (two beats, a retry) makes each occurrence once.
            models.UniqueConstraint(fields=["series", "occurrence_date"], name="one_event_per_series_date"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("events:event", kwargs={"slug": self.community.slug, "pk": self.pk})

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None

    @property
    def is_chat(self) -> bool:
        return self.kind == self.Kind.CHAT


class EventQuestion(models.Model):
    """One question of a hosted chat, posted once at its planned minute."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField()
    text = models.CharField(max_length=500)
    minute = models.PositiveSmallIntegerField(help_text="Minutes after the start.")
    # Set in the same transaction that creates the post: the record that makes posting exactly-once.
    post = models.OneToOneField(Post, null=True, blank=True, on_delete=models.SET_NULL, related_name="chat_question")

    class Meta:
        db_table = "discussions_eventquestion"
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["event", "position"], name="one_question_per_position")]

    def __str__(self) -> str:
        return f"Q{self.position} of event {self.event_id}"


class RSVP(models.Model):
    class Answer(models.TextChoices):
        GOING = "going", "Going"
        MAYBE = "maybe", "Maybe"
        NOT_GOING = "no", "Not going"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="rsvps")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    answer = models.CharField(max_length=6, choices=Answer.choices)
    answered_at = models.DateTimeField(default=timezone.now)
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "discussions_rsvp"
        constraints = [models.UniqueConstraint(fields=["event", "user"], name="one_rsvp_per_person")]
        indexes = [
            models.Index(fields=["event", "answer"], name="rsvp_counts"),
            # Reminder sweep: people going who have not been reminded.
            models.Index(
                fields=["event"], name="rsvp_to_remind", condition=Q(answer="going", reminded_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.answer} to event {self.event_id}"


class CalendarToken(models.Model):
    """The secret in a member's personal iCal feed URL; resetting it replaces the row."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_token")
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "discussions_calendartoken"

    def __str__(self) -> str:
        return f"calendar token of {self.user_id}"
