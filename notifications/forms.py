from __future__ import annotations

from django import forms

from core.forms import Form
from notifications.models import AlertCadence


class AlertSettingsForm(Form):
    """How a facilitator hears of review work by email."""

    cadence = forms.ChoiceField(
        label="Email me about review work",
        choices=AlertCadence.choices,
        widget=forms.RadioSelect,
        help_text="Join requests, flagged posts, posts held for review and newcomers' questions nobody "
        "has answered for a day, in the communities you facilitate. The bell shows them either way.",
    )
