"""Every one-line text field of every copsite form gets the same cleaning (core/forms.py).

A bidi override (U+202E) in an event's place or a paper's citation reversed
what others read after it, and a line break split the line. The test below
finds the forms itself, in every module of the project's packages (and
allauth's sign-up form, which is built on ours), and every one-line text
field in them, so a form or field added later is covered without anyone
remembering to list it.
"""

from __future__ import annotations

import importlib
import pkgutil
import unicodedata
from datetime import timedelta

import pytest
from django import forms
from django.utils import timezone
from django.utils.html import escape

from communities.models import Community
from events.models import Event
from resources.models import Resource

pytestmark = pytest.mark.django_db

PACKAGES = [
    "core",
    "accounts",
    "communities",
    "discussions",
    "resources",
    "events",
    "notifications",
    "digests",
    "discovery",
    "portability",
    "insights",
]
HOSTILE = {
    "RTL override": "Ward 4\u202e2 roolF",
    "zero-width space": "Ward\u200b 4",
    "isolates": "Ward \u20664\u2069",
    "byte order mark": "\ufeffWard 4",
    "CRLF": "Ward 4\r\nFloor 2",
    "LF": "Ward 4\nFloor 2",
    "CR": "Ward 4\rFloor 2",
    "NUL": "Ward\x004",
    "escape sequence": "Ward \x1b[31m4",
    "next line": "Ward 4\x85Floor 2",
    "line separator": "Ward 4\u2028Floor 2",
    "paragraph separator": "Ward 4\u2029Floor 2",
}
# Control, invisible formatting, private use, surrogates, and the line and paragraph separators.
NOT_ON_ONE_LINE = {"Cc", "Cf", "Co", "Cs", "Zl", "Zp"}


def project_forms() -> list[type[forms.BaseForm]]:
    """Every form class defined in the project's packages, and the sign-up form allauth builds on ours."""
    from allauth.account.forms import SignupForm

    found: dict[str, type[forms.BaseForm]] = {"allauth SignupForm": SignupForm}
    for package in PACKAGES:
        root = importlib.import_module(package)
        for module_info in pkgutil.walk_packages(root.__path__, f"{package}."):
            if ".migrations" in module_info.name:
                continue
            module = importlib.import_module(module_info.name)
            for obj in vars(module).values():
                if isinstance(obj, type) and issubclass(obj, forms.BaseForm) and obj.__module__ == module.__name__:
                    found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return list(found.values())


def one_line_fields(form: forms.BaseForm) -> list[str]:
    """Text fields drawn on one line: not text areas, and not passwords (never altered)."""
    return [
        name
        for name, field in form.fields.items()
        if isinstance(field, forms.CharField) and not isinstance(field.widget, (forms.Textarea, forms.PasswordInput))
    ]


def build(form_class, world, data: dict | None = None) -> forms.BaseForm:
    """The form as its view makes it (the few that need more than data get it here)."""
    from allauth.account.forms import SignupForm

    from communities.forms import ExpertiseForm, MemberFilterForm
    from discussions.forms import EditForm, MoveForm
    from insights.forms import BeatForm, DateRangeForm
    from portability.forms import DeleteAccountForm

    extra = {
        DeleteAccountForm: {"user": world.member},
        MoveForm: {"communities": Community.objects.all()},
        EditForm: {"opening": True},  # the opening post's form also has the title
        BeatForm: {"community": world.public},
        DateRangeForm: {"today": timezone.now().date()},
        MemberFilterForm: {"vocabulary": ["nights"], "levels": True},
        ExpertiseForm: {"vocabulary": ["nights"]},
    }.get(form_class, {})
    if form_class is SignupForm:
        return form_class(data)
    return form_class(data, **extra)


def concrete(form_class) -> bool:
    """The bases (core.forms.ModelForm, ...) name no model: nothing to fill in."""
    meta = getattr(form_class, "_meta", None)
    return not (issubclass(form_class, forms.BaseModelForm) and meta.model is None)


def test_every_one_line_field_of_every_form_refuses_or_cleans_invisible_and_line_breaking_characters(world):
    classes = [c for c in project_forms() if concrete(c)]
    names = {c.__name__ for c in classes}
    assert {"EventForm", "ResourceForm", "ThreadForm", "ProfileForm", "DeleteAccountForm", "SignupForm"} <= names
    checked, wrong = [], []
    for form_class in classes:
        for name in one_line_fields(build(form_class, world)):
            checked.append(f"{form_class.__name__}.{name}")
            for what, value in HOSTILE.items():
                form = build(form_class, world, {name: value})
                form.is_valid()
                if name in form.errors:
                    if not all(str(message).strip() for message in form.errors[name]):
                        wrong.append(f"{form_class.__name__}.{name} refused {what} without saying why")
                    continue
                cleaned = form.cleaned_data.get(name)
                texts = cleaned if isinstance(cleaned, list) else [cleaned]  # tags clean to a list
                if not texts or not all(isinstance(text, str) and text for text in texts):
                    wrong.append(f"{form_class.__name__}.{name} dropped {what} silently: {cleaned!r}")
                elif any(unicodedata.category(ch) in NOT_ON_ONE_LINE for text in texts for ch in text):
                    wrong.append(f"{form_class.__name__}.{name} kept {what}: {cleaned!r}")
    # The fields the probe found, and a few more: the enumeration reaches them.
    for field in ["EventForm.place", "EventForm.title", "ResourceForm.citation_authors", "ResourceForm.citation_title"]:
        assert field in checked
    assert {"ResourceForm.citation_venue", "ResourceForm.citation_link", "SignupForm.username"} <= set(checked)
    assert not wrong, "\n".join(wrong)


def test_one_line_fields_say_which_characters_are_refused_and_keep_the_rest_on_one_line(world):
    from events.forms import EventForm

    form = EventForm({"place": "Room 4\u202e"})
    form.is_valid()
    assert form.errors["place"] == ["Place cannot contain control or invisible formatting characters."]
    form = EventForm({"place": "  Room 4\r\n\tFloor  2 "})
    form.is_valid()
    assert form.cleaned_data["place"] == "Room 4 Floor 2"
    form = EventForm({"place": "Room\x004"})
    form.is_valid()
    assert form.errors["place"] == ["Null characters are not allowed."]


# --- the two fields the probe named, through their pages ---------------------------------------


def event_data(**changes) -> dict:
    day = (timezone.now() + timedelta(days=7)).date().isoformat()
    data = {
        "title": "Ward round walk-through",
        "kind": "in_person",
        "date": day,
        "start_time": "18:00",
        "duration": "60",
        "time_zone": "UTC",
        "place": "Room 4",
    }
    return {**data, **changes}


def test_an_events_place_refuses_an_rtl_override_and_keeps_line_breaks_off(client, world):
    client.force_login(world.facilitator)
    typed = "Room 4\u202e2 roolF"
    response = client.post("/c/commons/events/new/", event_data(place=typed))
    assert response.status_code == 200 and not Event.objects.exists()
    page = response.content.decode()
    assert "Place cannot contain control or invisible formatting characters." in page
    assert f'value="{escape(typed)}"' in page  # what was typed stays in the field

    response = client.post("/c/commons/events/new/", event_data(place="Room 4\r\nFloor 2"))
    event = Event.objects.get()
    assert response.status_code == 302 and event.place == "Room 4 Floor 2"
    assert "Room 4 Floor 2" in client.get(event.get_absolute_url()).content.decode()


def research(**changes) -> dict:
    data = {
        "kind": "research",
        "title": "Graded exposure",
        "citation_authors": "Ames, B.",
        "citation_title": "Graded exposure in practice",
        "citation_venue": "Pain",
        "citation_year": "2020",
        "citation_link": "10.1000/xyz",
        "summary": "It helps.",
        "in_practice": "Start small.",
        "try_this": "Agree one small first step.",
    }
    return {**data, **changes}


@pytest.mark.parametrize(
    "name,label",
    [
        ("citation_authors", "Authors"),
        ("citation_title", "Paper title"),
        ("citation_venue", "Journal or venue"),
        ("citation_link", "DOI or PMID"),
    ],
)
def test_a_resources_citation_refuses_an_rtl_override(client, world, name, label):
    client.force_login(world.member)
    typed = "10.1000/\u202eabc" if name == "citation_link" else "Ames\u202e, B."
    response = client.post("/c/commons/library/add/", research(**{name: typed}))
    assert response.status_code == 200 and not Resource.objects.exists()
    page = response.content.decode()
    assert f"{label} cannot contain control or invisible formatting characters." in page
    assert escape(typed) in page


def test_a_resources_citation_keeps_line_breaks_off(client, world):
    client.force_login(world.member)
    response = client.post(
        "/c/commons/library/add/",
        research(citation_authors="Ames, B.\r\nBaker, C.", citation_title="Graded\nexposure", citation_venue="Pain\r"),
    )
    assert response.status_code == 302
    resource = Resource.objects.get()
    assert (resource.citation_authors, resource.citation_title, resource.citation_venue) == (
        "Ames, B. Baker, C.",
        "Graded exposure",
        "Pain",
    )
