"""The health page's date range and the rhythm form."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms

from communities.models import Community
from core.forms import Form
from events.models import EventSeries
from insights.models import Beat

# The longest range the page draws: three years of weekly snapshots is already ~157 points.
MAX_DAYS = 3 * 366


def default_range(today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The last twelve months, today included."""
    try:
        year_ago = today.replace(year=today.year - 1)
    except ValueError:  # 29 February
        year_ago = today.replace(year=today.year - 1, day=28)
    return year_ago + datetime.timedelta(days=1), today


class DateRangeForm(Form):
    start = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}), input_formats=["%Y-%m-%d"]
    )
    end = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}), input_formats=["%Y-%m-%d"]
    )

    error_messages = {"invalid": "Enter a date as YYYY-MM-DD, e.g. 2026-01-31."}

    def __init__(self, *args: Any, today: datetime.date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        for name in ("start", "end"):
            self.fields[name].error_messages["invalid"] = self.error_messages["invalid"]
            self.fields[name].widget.attrs["max"] = today.isoformat()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        default_start, default_end = default_range(self.today)
        end = cleaned.get("end") or default_end
        start = cleaned.get("start") or (default_range(end)[0] if cleaned.get("end") else default_start)
        if end > self.today:
            self.add_error("end", "The end can't be after today.")
        elif start > end:
            self.add_error("start", "The start must be on or before the end.")
        elif (end - start).days + 1 > MAX_DAYS:
            self.add_error("start", "Choose a range of three years or less.")
        cleaned["start"], cleaned["end"] = start, end
        return cleaned


class BeatForm(Form):
    """One beat: its kind and, depending on it, a weekday, a series, or how often."""

    kind = forms.ChoiceField(label="Kind of beat", choices=Beat.Kind.choices, widget=forms.RadioSelect)
    label = forms.CharField(
        label="Name",
        max_length=120,
        required=False,
        help_text="What the beat is, e.g. “Monthly newcomers' call”. Needed for other beats.",
    )
    weekday = forms.TypedChoiceField(
        label="Digest day", choices=[("", "—"), *Beat.Weekday.choices], coerce=int, required=False, empty_value=None
    )
    series = forms.ModelChoiceField(label="Series", queryset=EventSeries.objects.none(), required=False)
    every_months = forms.IntegerField(label="Review every (months)", min_value=1, max_value=24, required=False)
    every_days = forms.IntegerField(label="Expected every (days)", min_value=1, max_value=366, required=False)

    def __init__(self, *args: Any, community: Community, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only this community's series: another community's id is "not a choice", never a link across.
        series = self.fields["series"]
        assert isinstance(series, forms.ModelChoiceField)
        series.queryset = EventSeries.objects.filter(community=community, kind="chat").order_by("title", "pk")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        kind = cleaned.get("kind")
        needs = {
            Beat.Kind.DIGEST: ("weekday", "Choose the day the digest goes out."),
            Beat.Kind.SERIES: ("series", "Choose the series of hosted chats."),
            Beat.Kind.REVIEW: ("every_months", "Say how many months may pass between reviews."),
            Beat.Kind.CUSTOM: ("every_days", "Say how many days may pass between two of these."),
        }
        if kind in needs:
            name, message = needs[Beat.Kind(kind)]
            if cleaned.get(name) is None and name not in self.errors:
                self.add_error(name, message)
            if kind == Beat.Kind.CUSTOM and not cleaned.get("label") and "label" not in self.errors:
                self.add_error("label", "Give the beat a name.")
        return cleaned
