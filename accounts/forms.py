from __future__ import annotations

import unicodedata
import zoneinfo

from django import forms

from accounts.models import User

# Bidi overrides and other invisible formatting characters let a name pose as
# someone else's ("\u202e" reverses the text that follows).
_FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Co", "Cs"}


def clean_display_text(value: str, field_label: str) -> str:
    value = unicodedata.normalize("NFC", value).strip()
    if any(unicodedata.category(ch) in _FORBIDDEN_CATEGORIES and ch not in "\n\r\t" for ch in value):
        raise forms.ValidationError(f"{field_label} cannot contain control or invisible formatting characters.")
    return value


def clean_one_line(value: str, field_label: str) -> str:
    """A name or title: display text on one line, runs of whitespace (line breaks too) as one space."""
    return " ".join(clean_display_text(value, field_label).split())


def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


class SignupExtraForm(forms.Form):
    """Fields allauth's sign-up form gains (ACCOUNT_SIGNUP_FORM_CLASS)."""

    display_name = forms.CharField(
        max_length=80,
        required=False,
        help_text="Optional. How your name appears on posts.",
    )

    def clean_display_name(self) -> str:
        return clean_one_line(self.cleaned_data["display_name"], "Display name")

    def signup(self, request, user: User) -> None:
        user.display_name = self.cleaned_data.get("display_name", "")
        user.save(update_fields=["display_name"])


class ProfileForm(forms.ModelForm):
    time_zone = forms.ChoiceField(choices=time_zone_choices)

    class Meta:
        model = User
        fields = ["display_name", "bio", "time_zone"]
        widgets = {"bio": forms.Textarea(attrs={"rows": 4, "maxlength": 500})}

    def clean_display_name(self) -> str:
        return clean_one_line(self.cleaned_data["display_name"], "Display name")

    def clean_bio(self) -> str:
        return clean_display_text(self.cleaned_data["bio"], "Bio")
