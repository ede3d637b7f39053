from __future__ import annotations

from typing import Any

from django import forms

from accounts import timezones
from accounts.models import User
from core.forms import Form, ModelForm, clean_display_text


class TimeZoneSelect(forms.Select):
    """A <select> of places grouped by region (<optgroup>); static/js/site.js adds a filter box above it.

    A zone the list does not offer (an old alias an account still holds) is
    shown as the selected option under "Other", so saving the form keeps it.
    """

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs={"data-time-zone-list": "", "autocomplete": "off", **(attrs or {})})

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        current = value[0] if isinstance(value, (list, tuple)) and value else value
        if isinstance(current, str) and current and timezones.known(current) and not timezones.listed(current):
            self.choices = [*self.choices, ("Other", [(current, current)])]
        return super().get_context(name, value, attrs)


class TimeZoneField(forms.ChoiceField):
    """Any zone zoneinfo knows; the list offers the places people live, grouped by region.

    ``fallback``: the zone a form sent without one gets (a <select> always sends one;
    a script or an old page may not), instead of a "required" error.
    """

    widget = TimeZoneSelect

    def __init__(self, *, fallback: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("label", "Time zone")
        self.fallback = fallback
        super().__init__(choices=timezones.grouped_choices, **kwargs)

    def clean(self, value: Any) -> Any:
        if value in self.empty_values and self.fallback is not None:
            return self.fallback
        return super().clean(value)

    def valid_value(self, value: Any) -> bool:
        return isinstance(value, str) and timezones.known(value)


class SignupExtraForm(Form):
    """Fields allauth's sign-up form gains (ACCOUNT_SIGNUP_FORM_CLASS).

    allauth's form is built on this one, so its username and email are cleaned as one-line fields too.
    """

    display_name = forms.CharField(
        max_length=80,
        required=False,
        help_text="Optional. How your name appears on posts.",
    )
    time_zone = TimeZoneField(
        fallback="UTC",
        initial="UTC",
        help_text="Dates are shown, and reminders and digests arrive, on this clock. You can change it later.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            # A fresh form: static/js/site.js chooses the browser's own zone. A form sent
            # back with an error keeps what the person chose.
            self.fields["time_zone"].widget.attrs["data-detect-time-zone"] = ""

    def signup(self, request, user: User) -> None:
        user.display_name = self.cleaned_data.get("display_name", "")
        user.time_zone = self.cleaned_data.get("time_zone") or "UTC"
        user.save(update_fields=["display_name", "time_zone"])


class ProfileForm(ModelForm):
    time_zone = TimeZoneField(help_text=User._meta.get_field("time_zone").help_text)

    class Meta:
        model = User
        fields = ["display_name", "bio", "time_zone"]
        widgets = {"bio": forms.Textarea(attrs={"rows": 4, "maxlength": 500})}

    def clean_bio(self) -> str:
        return clean_display_text(self.cleaned_data["bio"], "Bio")
