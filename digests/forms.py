from __future__ import annotations

from datetime import timedelta

from django import forms

from accounts.models import WEEKDAYS, User
from communities.models import Cadence
from core.forms import Form, ModelForm

NOTIFICATION_KINDS = [
    ("reply", "Someone replies to my post"),
    ("mention", "Someone mentions me"),
    ("accepted", "My answer is accepted"),
    ("helpful", "Someone finds my post helpful"),
    ("hidden", "A facilitator hides my post"),
    ("reminder", "A reminder I set on a bookmark is due"),
    ("new_thread", "A thread starts in a community I watch"),
    ("watching", "Someone posts in a thread I watch"),
    ("event_reminder", "An event I'm going to starts within the hour"),
    ("buddy_post", "A newcomer I'm a buddy to writes their first post"),
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
        fields = ["digest_hour", "digest_weekday", "email_notifications"]


# How long a pause lasts; None: until the person turns email back on.
PAUSES: dict[str, tuple[str, timedelta | None]] = {
    "week": ("For a week", timedelta(days=7)),
    "two_weeks": ("For two weeks", timedelta(days=14)),
    "month": ("For a month", timedelta(days=30)),
    "indefinitely": ("Until I turn it back on", None),
}


class PauseForm(Form):
    """The one control that pauses email: every sender asks the same switch (User.email_paused)."""

    pause_for = forms.ChoiceField(
        label="Pause all email",
        choices=[(key, label) for key, (label, _) in PAUSES.items()],
        initial="week",
        help_text=(
            "No digests, notifications, reminders or event emails while paused; your settings below stay as they are."
            " Mail about your account (password resets, confirming an address) and answers to your join requests"
            " still arrive."
        ),
    )


def cadence_field(default: str) -> forms.ChoiceField:
    default_label = dict(Cadence.choices)[default]
    return forms.ChoiceField(
        choices=[("", f"Community default ({default_label.lower()})"), *Cadence.choices], required=False
    )
