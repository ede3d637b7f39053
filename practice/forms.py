from __future__ import annotations

from datetime import date

from django import forms

from core.forms import Form
from practice.models import ReportBack


class CommitForm(Form):
    note = forms.CharField(label="A note to yourself", max_length=300, required=False, help_text="Where or with whom?")
    try_by = forms.DateField(label="Try it by", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean_try_by(self) -> date | None:
        value = self.cleaned_data.get("try_by")
        if value is not None and not (date(2000, 1, 1) <= value <= date(2100, 12, 31)):
            raise forms.ValidationError("Choose a date between now and a few years from now.")
        return value


class ReportForm(Form):
    outcome = forms.ChoiceField(
        label="Did you try it? What happened?",
        choices=ReportBack.Outcome.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose what happened.", "invalid_choice": "Choose one of the answers."},
    )
    story = forms.CharField(
        label="Tell the story",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="A few lines: what you did and what you noticed. It is posted in the resource's discussion.",
    )

    def clean_story(self) -> str:
        story = self.cleaned_data["story"].replace("\r\n", "\n").strip()
        if "\x00" in story:
            raise forms.ValidationError("Remove the control characters from your story.")
        return story
