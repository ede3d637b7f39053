"""The value note form: a cycle, a sentence or a story, and for realised value what changed."""

from __future__ import annotations

from typing import Any

from django import forms

from value.models import CYCLE_HINTS, MEASURE_MAX, TEXT_MAX, ValueNote


class ValueNoteForm(forms.Form):
    cycle = forms.ChoiceField(
        label="What kind of value was it?",
        choices=[(c.value, f"{c.label}: {CYCLE_HINTS[c.value]}") for c in ValueNote.Cycle],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose the kind of value.", "invalid_choice": "Choose one of the kinds of value."},
    )
    text = forms.CharField(
        label="What did it do for you?",
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=f"One sentence is enough; a story can be up to {TEXT_MAX:,} characters. Plain text.",
        error_messages={
            "required": "Say in a sentence what it did for you.",
            "max_length": f"Keep it to {TEXT_MAX:,} characters (you have %(show_value)s).",
        },
    )
    measure = forms.CharField(
        label="What changed, and how does it show?",
        max_length=MEASURE_MAX,
        required=False,
        help_text="Needed for realised value, e.g. “falls on the ward went from 6 to 2 a month”.",
        error_messages={"max_length": f"Keep it to {MEASURE_MAX} characters (you have %(show_value)s)."},
    )
    share_in_digest = forms.BooleanField(label="This note may be shared in the community's digest", required=False)

    def clean_measure(self) -> str:
        return " ".join(self.cleaned_data.get("measure", "").split())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("cycle") == ValueNote.Cycle.REALISED and not data.get("measure"):
            self.add_error("measure", "Say what changed: realised value needs a measure.")
        return data
