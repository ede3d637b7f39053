from __future__ import annotations

from django import forms

from accounts.models import WEEKDAYS, User
from communities.models import Cadence
from core.forms import ModelForm

NOTIFICATION_KINDS = [
    ("reply", "Someone replies to my post"),
    ("mention", "Someone mentions me"),
    ("accepted", "My answer is accepted"),
    ("helpful", "Someone finds my post helpful"),
    ("hidden", "A facilitator hides my post"),
    ("new_thread", "A thread starts in a community I watch"),
    ("watching", "Someone posts in a thread I watch"),
    ("event_reminder", "An event I'm going to starts within the hour"),
    # A facilitator's review work (nothing comes of these for other members).
    ("join_request", "Someone asks to join a community I facilitate"),
    ("flagged", "A member flags a post in a community I facilitate"),
    ("held", "A post waits for review in a community I facilitate"),
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
