from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta
from typing import Any

from django import forms

from accounts.forms import TimeZoneField
from core.forms import Form
from core.markup import MarkupError, render_markdown
from events.models import Event
from events.services import PlannedQuestion, parse_questions


class EventForm(Form):
    title = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=Event.Kind.choices, widget=forms.RadioSelect, initial=Event.Kind.CHAT)
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    start_time = forms.TimeField(label="Starts at", widget=forms.TimeInput(attrs={"type": "time"}))
    duration = forms.IntegerField(label="Length in minutes", min_value=10, max_value=24 * 60, initial=60)
    time_zone = TimeZoneField(initial="UTC", help_text="The clock the date and time above are on.")
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
        return {
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
