from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms

from bookmarks import times
from bookmarks.models import NOTE_MAX, Bookmark
from core.forms import Form

NONE, KEEP, CUSTOM = "none", "keep", "custom"


class ReminderForm(Form):
    """A bookmark's reminder (a preset, a date and time of one's own, or none) and a short note.

    Every moment is read on the member's clock (``zone``) and checked against
    ``now``: a moment already past, or years away, is refused with the typed
    values kept. ``cleaned_data["remind_at"]`` is the instant, or None.
    """

    # The date and time are asked for only with "at a date and time I choose" (see __init__);
    # no required attribute, so choosing a preset never trips the browser's own check.
    use_required_attribute = False
    PICKED = {"required": "Choose a date and a time for the reminder."}

    when = forms.ChoiceField(label="Remind me", widget=forms.RadioSelect)
    day = forms.DateField(
        label="Date", error_messages=PICKED, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    at = forms.TimeField(
        label="Time", error_messages=PICKED, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    note = forms.CharField(
        label="Note to yourself",
        max_length=NOTE_MAX,
        required=False,
        help_text="Only you see it.",
        widget=forms.TextInput(attrs={"maxlength": NOTE_MAX}),
    )

    def __init__(self, *args: Any, bookmark: Bookmark, now: datetime, zone_name: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.is_bound and self.data.get(self.add_prefix("when")) != CUSTOM:
            self.fields["day"].required = self.fields["at"].required = False
        self.now = now
        self.zone = times.zone_of(zone_name)
        self.bookmark = bookmark
        self.presets = {p.key: p for p in times.presets(now, self.zone)}
        choices = [(NONE, "No reminder")]
        if bookmark.reminder_pending and bookmark.remind_at is not None:
            local = bookmark.remind_at.astimezone(self.zone)
            choices.insert(0, (KEEP, f"Keep: {local:%a} {local.day} {local:%b}, {local:%H:%M}"))
        offered = [*choices, *((p.key, p.label) for p in self.presets.values() if p.moment is not None)]
        offered.append((CUSTOM, "At a date and time I choose"))
        when = self.fields["when"]
        assert isinstance(when, forms.ChoiceField)
        # Every preset is a valid answer (a form opened in the afternoon may be sent late at night,
        # and then hears why), but only those on offer now are drawn.
        when.choices = [*choices, *((p.key, p.label) for p in self.presets.values()), (CUSTOM, "")]
        when.widget.choices = offered
        when.initial = KEEP if bookmark.reminder_pending else NONE
        self.fields["note"].initial = bookmark.note

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        when = data.get("when")
        moment: datetime | None = None
        if when == KEEP:
            moment = self.bookmark.remind_at
        elif when in self.presets:
            moment = self.presets[when].moment
            if moment is None:
                self.add_error("when", "It's too late in the day for “later today”: choose tomorrow or a time.")
        elif when == CUSTOM:
            moment = self._custom(data)
        data["remind_at"] = moment
        return data

    def _custom(self, data: dict[str, Any]) -> datetime | None:
        day, at = data.get("day"), data.get("at")
        if day is None or at is None:
            return None  # the field already says what is wrong (both are required with "custom")
        # Far-off years first: a date near 9999 would overflow once turned into an instant.
        if day > (self.now + times.FURTHEST).date():
            self.add_error("day", "Choose a date within the next five years.")
            return None
        moment = times.on_the_clock(day, at, self.zone)
        if moment <= self.now:
            self.add_error("day", "That moment has passed: choose a later date or time.")
            return None
        return moment
