from __future__ import annotations

import zoneinfo

from django import forms

from accounts.models import User
from core.forms import Form, ModelForm, clean_display_text


def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


class SignupExtraForm(Form):
    """Fields allauth's sign-up form gains (ACCOUNT_SIGNUP_FORM_CLASS).

    allauth's form is built on this one, so its username and email are cleaned as one-line fields too.
    """

    display_name = forms.CharField(
        max_length=80,
        required=False,
        help_text="Optional. How your name appears on posts.",
    )

    def signup(self, request, user: User) -> None:
        user.display_name = self.cleaned_data.get("display_name", "")
        user.save(update_fields=["display_name"])


class ProfileForm(ModelForm):
    time_zone = forms.ChoiceField(choices=time_zone_choices)

    class Meta:
        model = User
        fields = ["display_name", "bio", "time_zone"]
        widgets = {"bio": forms.Textarea(attrs={"rows": 4, "maxlength": 500})}

    def clean_bio(self) -> str:
        return clean_display_text(self.cleaned_data["bio"], "Bio")
