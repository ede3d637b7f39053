from __future__ import annotations

from django import forms

from accounts.models import WEEKDAYS, User
from communities.models import Cadence
from core.forms import ModelForm

NOTIFICATION_KINDS = [
    ("reply", "Someone replies to my post"),
    ("mention", "Someone mentions me"),
    ("accepted", "My answer is accepted"),
    ("hidden", "A facilitator hides my post"),
    ("watching", "Someone posts in a thread I watch"),
    ("new_thread", "A thread starts in a community I watch"),
]
HOURS = [(h, f"{h:02d}:00") for h in range(24)]


class RhythmForm(ModelForm):
    digest_hour = forms.TypedChoiceField(choices=HOURS, coerce=int, label="Deliver digests at")
    digest_weekday = forms.TypedChoiceField(
        choices=list(enumerate(WEEKDAYS)), coerce=int, label="Weekly digests arrive on"
    )
    email_notifications = forms.MultipleChoiceField(
        choices=NOTIFICATION_KINDS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Email me right away when",
        help_text="Everything else waits for your digest. At most one email per conversation an hour.",
    )

    class Meta:
        model = User
        fields = ["digest_hour", "digest_weekday", "email_paused", "email_notifications"]
        labels = {"email_paused": "Pause all email from this site"}


def cadence_field(default: str) -> forms.ChoiceField:
    default_label = dict(Cadence.choices)[default]
    return forms.ChoiceField(
        choices=[("", f"Community default ({default_label.lower()})"), *Cadence.choices], required=False
    )
