from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django import forms
from django.utils import timezone

from communities import policy
from communities.audit import ACTION_CHOICES
from communities.models import Community, Membership, WatchLevel, access_refusal
from core.forms import Form, ModelForm, clean_display_text, clean_one_line
from core.markup import MarkupError, render_markdown

RESERVED_SLUGS = {"new", "admin", "api", "static", "media", "search", "settings"}


class CommunityForm(ModelForm):
    class Meta:
        model = Community
        fields = ["name", "slug", "domain", "description", "visibility", "join_policy", "default_cadence", "buddies"]
        widgets = {
            "domain": forms.Textarea(attrs={"rows": 2, "maxlength": 300}),
            "description": forms.Textarea(attrs={"rows": 8}),
            "visibility": forms.RadioSelect,
            "join_policy": forms.RadioSelect,
        }

    def __init__(self, *args, owner_settings: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "slug" in self.fields:
            # A real address, not a pattern: "/c/<slug>/" read as a tag in the page and showed "/c//".
            now = self.instance.slug if self.instance.pk else ""
            self.fields["slug"].help_text = (
                f"The community's address: /c/{now}/. Lower-case letters, digits and hyphens."
                if now
                else "The community's address, such as /c/acute-pain/. Lower-case letters, digits and hyphens."
            )
        # A facilitator who is not an owner edits the rest; the page shows these three as text.
        if not owner_settings:
            for name in policy.OWNER_SETTINGS:
                del self.fields[name]

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        visibility, join_policy = data.get("visibility"), data.get("join_policy")
        # Beside the join policy, with both choices kept as they were made.
        if visibility and join_policy and (refusal := access_refusal(visibility, join_policy)):
            self.add_error("join_policy", refusal)
        return data

    def clean_domain(self) -> str:
        # Drawn as a small text area so it wraps while typed, shown as one line.
        return clean_one_line(self.cleaned_data["domain"], "Domain statement")

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"].lower()
        if slug in RESERVED_SLUGS:
            raise forms.ValidationError("That address is reserved; choose another.")
        return slug

    def clean_description(self) -> str:
        text = self.cleaned_data["description"]
        try:
            render_markdown(text)
        except MarkupError as exc:
            raise forms.ValidationError(str(exc)) from None
        return text


def owner_settings_tampered(data, community: Community) -> list[str]:
    """The owners' settings a form submission would change: for someone whose form never showed them."""
    tampered = []
    for name in policy.OWNER_SETTINGS:
        if name in data and data[name].strip().lower() != str(getattr(community, name)).lower():
            tampered.append(name)
    return tampered


class JoinForm(Form):
    message = forms.CharField(
        label="Message to the facilitators",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 500}),
        help_text="Optional: a line about your practice and why you'd like to join.",
    )

    def clean_message(self) -> str:
        return clean_display_text(self.cleaned_data["message"], "Message")


class InviteForm(Form):
    email = forms.EmailField(label="Email address to invite")
    message = forms.CharField(
        label="Personal note",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 500}),
    )

    def clean_message(self) -> str:
        return clean_display_text(self.cleaned_data["message"], "Personal note")


class RoleForm(Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)


class LevelForm(Form):
    level = forms.ChoiceField(choices=[("", "Computed"), *Membership.Level.choices], required=False)


class CommunityWatchForm(Form):
    """The watching control's choice for a community."""

    level = forms.ChoiceField(choices=WatchLevel.choices)


class BanForm(Form):
    """Why, and until when: told to the person and kept in the audit log."""

    reason = forms.CharField(
        label="Reason",
        max_length=300,
        help_text="Told to the person by email and kept in the audit log.",
    )
    until = forms.DateField(
        label="Banned until",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Optional. The ban ends at the start of this day; leave it empty for a ban with no end date.",
    )

    def clean_until(self) -> date | None:
        until = self.cleaned_data["until"]
        if until is not None:
            today = timezone.localdate()
            if until <= today:
                raise forms.ValidationError("Choose a day after today, or leave it empty.")
            if until > today + timedelta(days=3660):
                raise forms.ValidationError("Choose a day within the next ten years, or leave it empty.")
        return until

    def until_moment(self) -> datetime | None:
        """The chosen day's start in the site's time zone: when the ban ends."""
        until = self.cleaned_data.get("until")
        if until is None:
            return None
        return timezone.make_aware(datetime.combine(until, time.min))


class AuditFilterForm(Form):
    """The audit log's filters: one kind of action, one person (who acted or was acted on)."""

    action = forms.ChoiceField(label="Action", required=False, choices=[("", "Every action"), *ACTION_CHOICES])
    person = forms.CharField(
        label="Person",
        required=False,
        max_length=150,
        help_text="A username: entries where they acted or were acted on.",
    )

    def clean_person(self) -> str:
        return self.cleaned_data["person"].lstrip("@")


class MemberFilterForm(Form):
    """The member directory's search and filters (GET). ``level`` only for those who see levels."""

    q = forms.CharField(label="Search by name", max_length=100, required=False)
    role = forms.ChoiceField(label="Role", choices=[("", "Any role"), *Membership.Role.choices], required=False)
    level = forms.ChoiceField(label="Level", choices=[("", "Any level"), *Membership.Level.choices], required=False)
    tag = forms.ChoiceField(label="Expertise", required=False)

    def __init__(self, *args, vocabulary: list[str], levels: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        tag = self.fields["tag"]
        assert isinstance(tag, forms.ChoiceField)
        tag.choices = [("", "Any expertise"), *((name, name) for name in vocabulary)]
        if not levels:
            del self.fields["level"]


class ExpertiseForm(Form):
    """What a member knows about in one community: up to ``expertise.MAX_EXPERTISE`` of its tags."""

    expertise = forms.MultipleChoiceField(
        label="I can help with",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Choose up to 5 of the tags used in this community. Members find you by them in the directory.",
    )

    def __init__(self, *args, vocabulary: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["expertise"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = [(name, name) for name in vocabulary]

    def clean_expertise(self) -> list[str]:
        from communities.expertise import MAX_EXPERTISE

        chosen = self.cleaned_data["expertise"]
        if len(chosen) > MAX_EXPERTISE:
            raise forms.ValidationError(f"Choose at most {MAX_EXPERTISE} tags; you chose {len(chosen)}.")
        return chosen


class BuddyForm(Form):
    username = forms.CharField(label="Buddy's username", max_length=150)
