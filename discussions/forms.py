from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.db.models import QuerySet

from accounts.models import User
from communities.forms import PersonalNoteForm
from communities.models import Community, Subgroup
from core.forms import Form, clean_one_line
from core.markup import MAX_SOURCE_CHARS, MarkupError, Rendered
from discussions.guests import DEFAULT_DAYS as DEFAULT_GUEST_DAYS
from discussions.guests import MAX_DAYS as MAX_GUEST_DAYS
from discussions.guests import MIN_DAYS as MIN_GUEST_DAYS
from discussions.models import THREAD_LEVELS, Thread
from discussions.services import MAX_TAGS, render_post

TAG_MAX_LENGTH = 40

if TYPE_CHECKING:
    _MixedIntoForm = Form  # what the mixin's methods use of the form it is mixed into (cleaned_data, add_error)
else:
    _MixedIntoForm = object


class BodyMixin(_MixedIntoForm):
    """Markdown body, checked by ``is_valid()`` and rendered by ``render_body()`` afterwards.

    Rendering is the costly part of a submission (hostile Markdown takes a
    good part of a second of CPU), so the views count a valid submission
    against its rate limit first and render only what the limit lets through.
    """

    rendered: Rendered

    def clean_body(self) -> str:
        body = self.cleaned_data["body"].replace("\r\n", "\n")
        if not body.strip():
            raise forms.ValidationError("Write something first.")
        return body

    def render_body(self) -> bool:
        """Render the valid body once into ``rendered``; False, with the reason on the field, if it can't be."""
        try:
            self.rendered = render_post(self.cleaned_data["body"])
        except MarkupError as exc:
            self.add_error("body", str(exc))
            return False
        return True


def body_field(label: str = "Your post") -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=MAX_SOURCE_CHARS,
        strip=False,
        # data-composer: the Markdown toolbar, live preview and @mentions (static/js/composer.js).
        widget=forms.Textarea(attrs={"rows": 8, "maxlength": MAX_SOURCE_CHARS, "data-composer": "post"}),
        help_text="Markdown: **bold**, *italic*, `code`, lists, links, > quotes. @username mentions someone.",
    )


def submission_key_field() -> forms.CharField:
    return forms.CharField(widget=forms.HiddenInput, required=False, max_length=40, initial=lambda: uuid.uuid4().hex)


class ThreadForm(BodyMixin, Form):
    title = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"maxlength": 200}))
    kind = forms.ChoiceField(
        choices=Thread.Kind.choices,
        initial=Thread.Kind.DISCUSSION,
        widget=forms.RadioSelect,
        help_text="A story celebrates a success, small or large.",
    )
    body = body_field()
    tags = forms.CharField(
        required=False,
        max_length=400,
        help_text=f"Up to {MAX_TAGS}, separated by commas, e.g. sleep, opioids, assessment.",
    )
    submission_key = submission_key_field()
    subgroup = forms.ModelChoiceField(
        queryset=Subgroup.objects.none(),
        required=False,
        empty_label="The whole community",
        label="Who reads it",
        help_text="A subgroup's thread is read by its members and the community's facilitators only.",
    )

    def __init__(self, *args: Any, subgroups: Sequence[Subgroup] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if subgroups:
            # Only the subgroups the poster is in: another id is "not one of the available choices".
            field = self.fields["subgroup"]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = Subgroup.objects.filter(pk__in=[s.pk for s in subgroups])
        else:
            del self.fields["subgroup"]

    def clean_title(self) -> str:
        title = self.cleaned_data["title"]
        if not title:
            raise forms.ValidationError("Give your thread a title.")
        return title

    def clean_tags(self) -> list[str]:
        raw = self.cleaned_data["tags"]
        tags: list[str] = []
        for part in raw.split(","):
            tag = part.strip().lower()
            if not tag:
                continue
            if len(tag) > TAG_MAX_LENGTH:
                raise forms.ValidationError(f"Keep each tag under {TAG_MAX_LENGTH} characters.")
            if tag not in tags:
                tags.append(tag)
        if len(tags) > MAX_TAGS:
            raise forms.ValidationError(f"Use at most {MAX_TAGS} tags.")
        return tags


class ReplyForm(BodyMixin, Form):
    body = body_field("Your reply")
    submission_key = submission_key_field()


class EditForm(BodyMixin, Form):
    title = forms.CharField(max_length=200, required=False)
    body = body_field()

    def __init__(self, *args: Any, opening: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not opening:
            del self.fields["title"]
        else:
            self.fields["title"].required = True


class ReasonForm(Form):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3, "maxlength": 500}), label="Reason")

    def clean_reason(self) -> str:
        # Drawn as a text area so it wraps while typed, shown as one line.
        reason = clean_one_line(self.cleaned_data["reason"], "Reason")
        if not reason:
            raise forms.ValidationError("Give a reason.")
        return reason


class TurnDownForm(Form):
    reason = forms.CharField(
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 500}),
        label="Reason (optional)",
        help_text="The author sees it. Left empty, they read “Not approved by a facilitator.”",
    )

    def clean_reason(self) -> str:
        return clean_one_line(self.cleaned_data["reason"], "Reason")


class MoveForm(Form):
    community: forms.ModelChoiceField[Community] = forms.ModelChoiceField(
        queryset=None, label="Move to", empty_label=None
    )

    def __init__(self, *args: Any, communities: QuerySet[Community] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # ``fields`` holds this form's own copy of the field declared above.
        cast("forms.ModelChoiceField[Community]", self.fields["community"]).queryset = communities


class ThreadWatchForm(Form):
    """The watching control's choice for a thread; ``back`` says which page the plain form returns to."""

    level = forms.ChoiceField(choices=[(level.value, level.label) for level in THREAD_LEVELS])
    back = forms.ChoiceField(choices=[("", "the thread"), ("muted", "the muted threads")], required=False)


# --- Subgroups and guests ----------------------------------------------------------------


class SubgroupForm(Form):
    name = forms.CharField(max_length=60, widget=forms.TextInput(attrs={"maxlength": 60}))
    description = forms.CharField(
        label="Short description",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"maxlength": 200}),
        help_text="What it is for, in a line; other members see only its name.",
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if not name:
            raise forms.ValidationError("Give the subgroup a name.")
        return name


class _PersonField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name)


class SubgroupMemberForm(Form):
    person = _PersonField(
        queryset=User.objects.none(), label="Member to add", empty_label="Choose a member of the community"
    )

    def __init__(self, *args: Any, choices: QuerySet[User] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["person"]
        assert isinstance(field, forms.ModelChoiceField)
        if choices is not None:
            field.queryset = choices


class GuestInviteForm(PersonalNoteForm):
    email = forms.EmailField(label="Guest's email address")
    days = forms.IntegerField(
        label="Days of access",
        min_value=MIN_GUEST_DAYS,
        max_value=MAX_GUEST_DAYS,
        initial=DEFAULT_GUEST_DAYS,
        help_text=f"From {MIN_GUEST_DAYS} to {MAX_GUEST_DAYS} days; the guest can read and reply in this thread only.",
    )
    field_order = ["email", "days", "message"]


class GuestExtendForm(Form):
    days = forms.IntegerField(
        label="More days, from today", min_value=MIN_GUEST_DAYS, max_value=MAX_GUEST_DAYS, initial=DEFAULT_GUEST_DAYS
    )
