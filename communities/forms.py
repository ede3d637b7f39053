from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django import forms
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from accounts.models import Viewer
from communities import policy, queries, welcome
from communities.audit import ACTION_CHOICES
from communities.models import RESERVED_SLUGS, Community, Membership, WatchLevel, access_refusal
from core.forms import Form, ModelForm, clean_display_text, clean_one_line
from core.markup import MarkupError, render_markdown

__all__ = ["RESERVED_SLUGS"]


class CommunityForm(ModelForm):
    class Meta:
        model = Community
        fields = [
            "name",
            "slug",
            "domain",
            "description",
            "visibility",
            "join_policy",
            "default_cadence",
            "welcome",
            "introductions_thread_id",
            "buddies",
        ]
        labels = {"welcome": "Welcome for new members"}
        help_texts = {
            "welcome": (
                "Markdown. Shown to each new member right after joining, with the pinned resources "
                "(Start here), and emailed to them once."
            )
        }
        widgets = {
            "domain": forms.Textarea(attrs={"rows": 2, "maxlength": 300}),
            "description": forms.Textarea(attrs={"rows": 8}),
            "welcome": forms.Textarea(attrs={"rows": 6, "maxlength": 5000}),
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
        if self.instance.pk:
            # Only this community's own threads: a thread of another one is not a choice.
            self.fields["introductions_thread_id"] = forms.TypedChoiceField(
                label="Introductions thread",
                required=False,
                coerce=int,
                empty_value=None,
                choices=[("", "None"), *welcome.thread_choices(self.instance)],
                help_text="Where new members are invited to introduce themselves.",
            )
        else:
            # A new community has no threads yet.
            del self.fields["introductions_thread_id"]
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

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if not self.instance.pk and queries.community_name_taken(name):
            raise forms.ValidationError("A community with that name exists already; choose another.")
        return name

    def clean_description(self) -> str:
        return _renderable(self.cleaned_data["description"])

    def clean_welcome(self) -> str:
        return _renderable(self.cleaned_data["welcome"])


def _renderable(text: str) -> str:
    """Markdown the renderer accepts (size, nesting); its refusal is shown beside the field, the text kept."""
    try:
        render_markdown(text)
    except MarkupError as exc:
        raise forms.ValidationError(str(exc)) from None
    return text


class CommunityRequestForm(Form):
    """A member asks the site admins for a new community."""

    name = forms.CharField(label="Name", max_length=80, widget=forms.TextInput(attrs={"maxlength": 80}))
    domain = forms.CharField(
        label="Domain statement",
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": 300}),
        help_text="One or two sentences: what this community cares about and gets better at together.",
    )
    why = forms.CharField(
        label="Why this community",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5, "maxlength": 2000}),
        help_text="For the site admins: who would take part, and why a community of its own.",
    )
    visibility = forms.ChoiceField(
        label="Who can see it", choices=Community.Visibility.choices, initial="open", widget=forms.RadioSelect
    )
    join_policy = forms.ChoiceField(
        label="Who can join", choices=Community.JoinPolicy.choices, initial="open", widget=forms.RadioSelect
    )

    def __init__(self, *args, requester: Viewer | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.requester: Viewer = requester if requester is not None else AnonymousUser()

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        # Among the communities the person can find: a private one's name is not confirmed to outsiders.
        if queries.community_name_taken(name, among=policy.listed_communities(self.requester)):
            raise forms.ValidationError("A community with that name exists already; choose another.")
        return name

    def clean_domain(self) -> str:
        return clean_one_line(self.cleaned_data["domain"], "Domain statement")

    def clean_why(self) -> str:
        return clean_display_text(self.cleaned_data["why"], "Why this community")

    def clean(self) -> dict:
        data = super().clean() or {}
        visibility, join_policy = data.get("visibility"), data.get("join_policy")
        if visibility and join_policy and (refusal := access_refusal(visibility, join_policy)):
            self.add_error("join_policy", refusal)
        return data


class DeclineRequestForm(Form):
    reason = forms.CharField(
        label="Reason",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": 500}),
        help_text="Told to the person by email and shown on their request page.",
    )

    def clean_reason(self) -> str:
        return clean_one_line(self.cleaned_data["reason"], "Reason")


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


class PersonalNoteForm(Form):
    """An invitation's optional note, sent with it as the person wrote it (a community's or a thread's guest)."""

    message = forms.CharField(
        label="Personal note",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 500}),
    )

    def clean_message(self) -> str:
        return clean_display_text(self.cleaned_data["message"], "Personal note")


class InviteForm(PersonalNoteForm):
    email = forms.EmailField(label="Email address to invite")
    field_order = ["email", "message"]


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
