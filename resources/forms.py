from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from django import forms
from django.utils import timezone

from core.forms import Form, ModelForm, clean_display_text
from core.markup import MarkupError, render
from discussions.forms import ThreadForm
from resources.files import check_upload
from resources.models import Resource, ResourceThread, normalise_citation


class ResourceForm(ModelForm):
    url = forms.URLField(label="Link", max_length=500, required=False, assume_scheme="https")
    tags = forms.CharField(required=False, max_length=400, help_text=ThreadForm.base_fields["tags"].help_text)
    upload = forms.FileField(
        label="File",
        required=False,
        help_text="PDF, image, Word/Excel/PowerPoint/OpenDocument, plain text or CSV.",
    )
    draft = forms.BooleanField(
        label="Keep it as a draft",
        required=False,
        help_text="Only you and the facilitators see a draft until you publish it.",
    )
    review_by = forms.DateField(
        label="Review by",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="When someone should check it is still right. Facilitators see it in their “due for review” list.",
    )

    class Meta:
        model = Resource
        fields = [
            "kind",
            "title",
            "url",
            "description",
            "citation_authors",
            "citation_title",
            "citation_venue",
            "citation_year",
            "citation_link",
            "summary",
            "in_practice",
            "try_this",
        ]
        widgets = {
            "kind": forms.RadioSelect,
            # data-composer="text": Markdown rendered without @mention links (resources/services.py).
            "description": forms.Textarea(attrs={"rows": 6, "data-composer": "text"}),
            "summary": forms.Textarea(attrs={"rows": 5, "data-composer": "text"}),
            "in_practice": forms.Textarea(attrs={"rows": 5, "data-composer": "text"}),
        }
        help_texts = {
            "description": "Markdown. What is it, and when is it useful?",
            "summary": "Research summaries: the findings in plain language.",
            "in_practice": "Research summaries: so what does this mean in practice? What to try, what to watch for.",
            "citation_link": "A DOI (10.1000/xyz123) or a PubMed id (PMID: 12345678); a link to the paper also works.",
            "try_this": "Research summaries: one concrete thing a reader could try this week.",
        }
        labels = {
            "citation_link": "DOI or PMID",
            "summary": "The finding, in plain words",
            "in_practice": "So what for practice?",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["tags"] = ", ".join(self.instance.tags.names())
            self.initial["review_by"] = self.instance.review_by
            del self.fields["draft"]  # a saved draft is published from its page
        self.fields["citation_year"].widget.attrs.update({"min": 1800, "max": 2100})

    clean_tags = ThreadForm.clean_tags

    def clean_title(self) -> str:
        title = self.cleaned_data["title"]
        if not title:
            raise forms.ValidationError("Give the resource a title.")
        return title

    def _clean_markdown(self, name: str) -> str:
        text = self.cleaned_data[name].replace("\r\n", "\n")
        try:
            render(text)
        except MarkupError as exc:
            raise forms.ValidationError(str(exc)) from None
        return text

    def clean_description(self) -> str:
        return self._clean_markdown("description")

    def clean_summary(self) -> str:
        return self._clean_markdown("summary")

    def clean_in_practice(self) -> str:
        return self._clean_markdown("in_practice")

    def clean_upload(self):
        upload = self.cleaned_data.get("upload")
        if upload:
            check_upload(upload)  # raises ValidationError with the reason
        return upload

    def clean_citation_link(self) -> str:
        link = self.cleaned_data["citation_link"].strip()
        if link and normalise_citation(link) is None:
            raise forms.ValidationError(
                "Give a DOI such as 10.1000/xyz123, a PubMed id such as PMID: 12345678, or a link starting with https://."
            )
        return link

    def clean_try_this(self) -> str:
        return " ".join(self.cleaned_data["try_this"].split())

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        kind = data.get("kind")
        has_file = bool(data.get("upload")) or bool(self.instance.file)
        if kind == Resource.Kind.LINK and not data.get("url"):
            self.add_error("url", "A link needs its address.")
        if kind == Resource.Kind.FILE and not has_file:
            self.add_error("upload", "Choose a file to upload.")
        if kind == Resource.Kind.RESEARCH:
            for name, message in [
                ("citation_title", "Name the paper."),
                ("summary", "Summarise the findings in plain language."),
                ("in_practice", "Say what this means in practice: it's the point of a research summary."),
                ("citation_link", "Give the paper's DOI or PubMed id, so readers can find it."),
                ("try_this", "Suggest one concrete thing to try."),
            ]:
                if not data.get(name):
                    self.add_error(name, message)
        if kind != Resource.Kind.RESEARCH and not (data.get("description") or data.get("url") or has_file):
            self.add_error("description", "Describe the resource, or add a link or a file.")
        return data

    def clean_review_by(self) -> date | None:
        day = self.cleaned_data.get("review_by")
        if day is not None and not (date(2000, 1, 1) <= day <= timezone.localdate() + timedelta(days=3660)):
            raise forms.ValidationError("Choose a review date within the next ten years.")
        return day

    def model_fields(self) -> dict[str, Any]:
        fields = {name: self.cleaned_data[name] for name in self.Meta.fields}
        fields["review_by"] = self.cleaned_data.get("review_by")
        return fields


class ReviewForm(Form):
    checked = forms.CharField(
        label="What did you check?",
        max_length=2_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example: the links still work, the advice matches current guidance.",
    )
    next_review_by = forms.DateField(label="Next review by", widget=forms.DateInput(attrs={"type": "date"}))

    def clean_checked(self) -> str:
        text = clean_display_text(self.cleaned_data["checked"], "What you checked")
        if not text:
            raise forms.ValidationError("Say what you checked.")
        return text

    def clean_next_review_by(self) -> date:
        day = self.cleaned_data["next_review_by"]
        today = timezone.localdate()
        if day <= today:
            raise forms.ValidationError("The next review date must be in the future.")
        if day > today + timedelta(days=3660):
            raise forms.ValidationError("Choose a date within the next ten years.")
        return day


class SupersedeForm(Form):
    replacement = forms.ModelChoiceField(
        label="Replaced by", queryset=Resource.objects.none(), empty_label="Choose the resource that replaces it"
    )

    def __init__(self, *args, choices=None, **kwargs):
        super().__init__(*args, **kwargs)
        if choices is not None:
            self.fields["replacement"].queryset = choices  # type: ignore[attr-defined]  # a ModelChoiceField


_THREAD_ADDRESS = re.compile(r"(?:^|/t/)(\d{1,12})/?(?:[?#].*)?$")


class LinkThreadForm(Form):
    thread = forms.CharField(
        label="Discussion",
        max_length=300,
        help_text="The discussion's address (or its number), in this community.",
    )
    relation = forms.ChoiceField(
        label="How it relates", choices=ResourceThread.Relation.choices, widget=forms.RadioSelect
    )

    def clean_thread(self) -> int:
        match = _THREAD_ADDRESS.search(self.cleaned_data["thread"].strip())
        if match is None:
            raise forms.ValidationError("Paste the discussion's address, such as …/t/123/, or its number.")
        return int(match.group(1))


class OwnerForm(Form):
    username = forms.CharField(
        label="New owner's username",
        max_length=150,
        help_text="A member of this community, e.g. mira or @mira. They will keep the resource current.",
        error_messages={"required": "Type the username of the member who will own it."},
    )
