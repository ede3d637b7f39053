"""The bases of every copsite form: one cleaning for every one-line text field.

A name, a title, a place or a citation is shown on one line among other
people's words. Bidi overrides (U+202E reverses the text that follows),
zero-width and other invisible formatting characters let such a line pose
as something else, and a line break in it splits a header, a calendar line
or a citation. So every one-line text field of a form built on ``Form`` or
``ModelForm`` here (a ``CharField``, or a subclass such as an email, URL or
slug field, drawn as anything but a text area or a password box) is cleaned
the same way, without the form naming its fields: NFC, surrounding
whitespace dropped, runs of whitespace (line breaks too) as one space, and
control or invisible formatting characters refused with a clear error.
Passwords are never altered; text areas keep their lines (``clean_display_text``
refuses the rest there, field by field).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

from django import forms
from django.forms.utils import pretty_name

# Control, format (bidi overrides, zero-width characters), private-use and surrogate code points.
_FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Co", "Cs"}


def clean_display_text(value: str, field_label: str) -> str:
    """Text shown to others, lines allowed: NFC, stripped, no control or invisible formatting character."""
    value = unicodedata.normalize("NFC", value).strip()
    if any(unicodedata.category(ch) in _FORBIDDEN_CATEGORIES and ch not in "\n\r\t" for ch in value):
        raise forms.ValidationError(f"{field_label} cannot contain control or invisible formatting characters.")
    return value


def clean_one_line(value: str, field_label: str) -> str:
    """A name or title: display text on one line, runs of whitespace (line breaks too) as one space."""
    return " ".join(clean_display_text(value, field_label).split())


def is_one_line(field: forms.Field) -> bool:
    """A text field drawn as one line: what the bases clean."""
    return isinstance(field, forms.CharField) and not isinstance(field.widget, (forms.Textarea, forms.PasswordInput))


def _cleaning_one_line(clean: Callable[[Any], Any], label: str) -> Callable[[Any], Any]:
    def clean_then_one_line(value: Any) -> Any:
        # The field's own cleaning first (required, length, NUL, email or URL syntax), then ours.
        cleaned = clean(value)
        return clean_one_line(cleaned, label) if isinstance(cleaned, str) else cleaned

    clean_then_one_line.one_line = True  # type: ignore[attr-defined]
    return clean_then_one_line


class OneLineCleaningMixin:
    """Cleans every one-line text field of the form (see the module's docstring).

    Applied when the form validates, so fields a form adds in ``__init__`` or
    later are cleaned too; each form instance has its own copies of its fields.
    The ``clean_<field>`` methods then see the cleaned value.
    """

    fields: dict[str, forms.Field]

    def full_clean(self) -> None:
        for name, field in self.fields.items():
            if is_one_line(field) and not getattr(field.clean, "one_line", False):
                # This form's own copy of the field gets its clean wrapped (mypy refuses any assignment to a method).
                wrapped = _cleaning_one_line(field.clean, str(field.label or pretty_name(name)))
                field.clean = wrapped  # type: ignore[method-assign,assignment]  # see above
        super().full_clean()  # type: ignore[misc]


class Form(OneLineCleaningMixin, forms.Form):
    """A copsite form: every one-line text field cleaned the same way."""


# Unparameterised: Django's ModelForm can't be subscripted at run time (django-stubs-ext, which would
# allow it, is a development tool only), so subclasses name their model in Meta, as Django reads it.
class ModelForm(OneLineCleaningMixin, forms.ModelForm):  # type: ignore[type-arg]  # see above
    """A copsite model form: every one-line text field cleaned the same way."""
