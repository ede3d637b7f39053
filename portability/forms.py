from __future__ import annotations

from django import forms
from django.utils.html import format_html

from accounts.models import User
from core.forms import Form


class DeleteAccountForm(Form):
    """Two deliberate steps: the password proves it is the person, the username that they mean it."""

    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    confirm_username = forms.CharField(
        label="Type your username to confirm",
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"}),
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["confirm_username"].help_text = format_html("Your username is <strong>{}</strong>.", user.username)

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("That is not your password.")
        return password

    def clean_confirm_username(self) -> str:
        typed = self.cleaned_data["confirm_username"].strip()
        if typed != self.user.username:
            raise forms.ValidationError("Type your username exactly as shown to confirm.")
        return typed
