from __future__ import annotations

from typing import Any

from django import forms

from core.forms import ModelForm
from core.markup import MarkupError, render
from discussions.forms import ThreadForm
from resources.files import check_upload
from resources.models import Resource, normalise_citation


class ResourceForm(ModelForm):
    url = forms.URLField(label="Link", max_length=500, required=False, assume_scheme="https")
    tags = forms.CharField(required=False, max_length=400, help_text=ThreadForm.base_fields["tags"].help_text)
    upload = forms.FileField(
        label="File",
        required=False,
        help_text="PDF, image, Word/Excel/PowerPoint/OpenDocument, plain text or CSV.",
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

    def model_fields(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}
