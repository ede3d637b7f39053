from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from django import forms

from accounts.forms import TimeZoneField
from core.forms import Form
from core.markup import MarkupError, render_markdown
from events import recurrence
from events.models import Event, EventSeries
from events.services import PlannedQuestion, Repeat, _apply_repeat, parse_questions

MAX_SKIPPED = 200


class EventForm(Form):
    title = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=Event.Kind.choices, widget=forms.RadioSelect, initial=Event.Kind.CHAT)
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    start_time = forms.TimeField(label="Starts at", widget=forms.TimeInput(attrs={"type": "time"}))
    duration = forms.IntegerField(label="Length in minutes", min_value=10, max_value=24 * 60, initial=60)
    time_zone = TimeZoneField(initial="UTC", help_text="The clock the date and time above are on.")
    scope = forms.ChoiceField(
        label="Change",
        choices=[("this", "This occurrence only"), ("following", "This and following occurrences")],
        widget=forms.RadioSelect,
        initial="this",
        help_text="Answers stay on occurrences whose time does not change; where it does, they are cleared "
        "and those who answered are told.",
    )
    repeat = forms.ChoiceField(
        label="Repeats",
        required=False,
        choices=[
            ("", "Does not repeat"),
            (EventSeries.Frequency.WEEKLY, "Weekly"),
            (EventSeries.Frequency.MONTHLY, "Monthly, on the same weekday"),
        ],
    )
    every = forms.IntegerField(label="Every how many weeks", required=False, min_value=1, max_value=12, initial=1)
    weekdays = forms.TypedMultipleChoiceField(
        label="On",
        required=False,
        coerce=int,
        choices=list(enumerate(recurrence.WEEKDAY_NAMES)),
        widget=forms.CheckboxSelectMultiple,
        help_text="Weekly: the days it happens (the first date's day if none).",
    )
    month_week = forms.TypedChoiceField(
        label="Which week of the month",
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "The first date's"), (1, "First"), (2, "Second"), (3, "Third"), (4, "Fourth"), (-1, "Last")],
        help_text="Monthly: e.g. the second Tuesday, or the last Friday.",
    )
    end_date = forms.DateField(
        label="Ends on", required=False, widget=forms.DateInput(attrs={"type": "date"}), help_text="At most 3 years."
    )
    count = forms.IntegerField(
        label="Or after this many times", required=False, min_value=1, max_value=recurrence.MAX_OCCURRENCES
    )
    skip_dates = forms.CharField(
        label="Dates to skip",
        required=False,
        max_length=3_000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One date per line, e.g. 2027-12-24.",
    )
    description = forms.CharField(
        required=False,
        max_length=10_000,
        # Rendered as plain Markdown (render_markdown): the composer's "text" preview.
        widget=forms.Textarea(attrs={"rows": 4, "data-composer": "text"}),
        help_text="Markdown.",
    )
    link = forms.URLField(
        label="Meeting link",
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text="For calls and online meetups.",
    )
    place = forms.CharField(required=False, max_length=300, help_text="For in-person events.")
    hashtag = forms.CharField(required=False, max_length=60, help_text="Optional, e.g. #painchat")
    welcome = forms.CharField(
        required=False,
        max_length=5_000,
        # Becomes the chat thread's opening post: previewed as a post.
        widget=forms.Textarea(attrs={"rows": 3, "data-composer": "post"}),
        help_text="Hosted chats: the host's first post when the chat opens.",
    )
    questions = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Hosted chats: one question per line, starting with its minute, e.g. “:05 What brought you here?”",
    )

    def __init__(self, *args: Any, editing: Event | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.occurrence = editing is not None and editing.series_id is not None
        if not self.occurrence:
            del self.fields["scope"]
        if editing is not None and not self.occurrence:
            # A single event stays single: a series is scheduled as one.
            for name in ("repeat", "every", "weekdays", "month_week", "end_date", "count", "skip_dates"):
                del self.fields[name]

    def clean_skip_dates(self) -> list[dt.date]:
        days = []
        for number, token in enumerate(self.cleaned_data["skip_dates"].replace(",", "\n").split(), start=1):
            try:
                days.append(dt.date.fromisoformat(token))
            except ValueError:
                raise forms.ValidationError(f"Date {number}: write it as year-month-day, e.g. 2027-12-24.") from None
        if len(days) > MAX_SKIPPED:
            raise forms.ValidationError(f"Skip at most {MAX_SKIPPED} dates.")
        return days

    def _clean_repeat(self, data: dict[str, Any]) -> Repeat | None:
        """The series' rule, or None for a single event (or "this occurrence only")."""
        if self.occurrence and data.get("scope") != "following":
            return None
        frequency = data.get("repeat")
        if not frequency:
            if self.occurrence:
                self.add_error("repeat", "Choose how the following occurrences repeat.")
            return None
        first = data.get("date")
        if first is None:
            return None
        weekdays = tuple(data.get("weekdays") or [first.weekday()])
        month_week = data.get("month_week")
        if frequency == EventSeries.Frequency.WEEKLY and first.weekday() not in weekdays:
            self.add_error(
                "weekdays",
                f"The first date is a {recurrence.WEEKDAY_NAMES[first.weekday()]}: tick it, or move the date.",
            )
        if frequency == EventSeries.Frequency.MONTHLY:
            week, last = recurrence.month_week_of(first)
            if month_week is None:
                month_week = week if week <= 4 else -1
            if (month_week == -1 and not last) or (month_week != -1 and month_week != week):
                nth = recurrence.ORDINALS[month_week]
                self.add_error(
                    "month_week",
                    f"The first date is not the {nth} {recurrence.WEEKDAY_NAMES[first.weekday()]} of its month.",
                )
        until, count = data.get("end_date"), data.get("count")
        if until is None and count is None and "count" not in self.errors and "end_date" not in self.errors:
            self.add_error("count", "Say when the series ends: on a date, or after a number of times.")
        if until is not None and count is not None:
            self.add_error("count", "Choose one: an end date or a number of times.")
        if until is not None and until < first:
            self.add_error("end_date", "The series must end after its first date.")
        if until is not None and until > first + recurrence.MAX_SPAN:
            self.add_error("end_date", "A series can run for at most 3 years: schedule a new one after that.")
        repeat = Repeat(
            frequency=frequency,
            interval=data.get("every") or 1,
            weekdays=weekdays,
            month_week=month_week,
            until=until,
            count=count,
            skip_dates=tuple(d for d in data.get("skip_dates") or [] if d >= first),
        )
        if until is not None and not self.errors:
            probe = EventSeries(start_date=first, start_time=data["start_time"], time_zone=data["time_zone"])
            _apply_repeat(probe, replace(repeat, count=None))
            dates = recurrence.rule_dates(probe)
            if len(dates) >= recurrence.MAX_OCCURRENCES and dates[-1] < until:
                self.add_error(
                    "end_date", f"That makes more than {recurrence.MAX_OCCURRENCES} occurrences: end it sooner."
                )
        return repeat

    def clean_hashtag(self) -> str:
        tag = self.cleaned_data["hashtag"].strip()
        if tag and not tag.lstrip("#").replace("_", "").isalnum():
            raise forms.ValidationError("A hashtag is letters, digits and underscores.")
        return ("#" + tag.lstrip("#")) if tag else ""

    def clean_description(self) -> str:
        try:
            render_markdown(self.cleaned_data["description"])
        except MarkupError as exc:
            raise forms.ValidationError(str(exc)) from None
        return self.cleaned_data["description"]

    def clean_questions(self) -> list[PlannedQuestion]:
        try:
            return parse_questions(self.cleaned_data["questions"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if {"date", "start_time", "time_zone", "duration"} <= data.keys():
            tz = zoneinfo.ZoneInfo(data["time_zone"])
            data["starts_at"] = datetime.combine(data["date"], data["start_time"], tzinfo=tz)
            data["ends_at"] = data["starts_at"] + timedelta(minutes=data["duration"])
        questions = data.get("questions") or []
        if data.get("kind") == Event.Kind.CHAT and not questions and "questions" not in self.errors:
            self.add_error("questions", "A hosted chat needs at least one question.")
        if questions and data.get("duration") and questions[-1].minute >= data["duration"]:
            self.add_error("questions", "Every question must come before the chat ends.")
        if data.get("kind") == Event.Kind.CALL and not data.get("link"):
            self.add_error("link", "A call needs its meeting link.")
        if data.get("kind") == Event.Kind.IN_PERSON and not data.get("place"):
            self.add_error("place", "Say where people meet.")
        if "repeat" in self.fields:
            data["repeat_rule"] = self._clean_repeat(data)
        return data

    def model_fields(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            key: d[key]
            for key in (
                "title",
                "kind",
                "description",
                "link",
                "place",
                "hashtag",
                "welcome",
                "time_zone",
                "starts_at",
                "ends_at",
            )
        }

    @classmethod
    def initial_for(cls, event: Event) -> dict:
        from events.services import questions_text

        tz = zoneinfo.ZoneInfo(event.time_zone)
        local = event.starts_at.astimezone(tz)
        series = event.series if event.series_id else None
        repeat = {}
        if series is not None:
            day = event.occurrence_date or local.date()
            left = series.count - len([d for d in recurrence.rule_dates(series) if d < day]) if series.count else None
            repeat = {
                "scope": "this",
                "repeat": series.frequency,
                "every": series.interval,
                "weekdays": recurrence.weekday_list(series),
                "month_week": series.month_week,
                "end_date": series.until,
                "count": left,
                "skip_dates": "\n".join(d for d in series.skip_dates if d >= day.isoformat()),
            }
        return {
            **repeat,
            "title": event.title,
            "kind": event.kind,
            "date": local.date(),
            "start_time": local.time(),
            "duration": int((event.ends_at - event.starts_at).total_seconds() // 60),
            "time_zone": event.time_zone,
            "description": event.description,
            "link": event.link,
            "place": event.place,
            "hashtag": event.hashtag,
            "welcome": event.welcome,
            "questions": questions_text(event),
        }
