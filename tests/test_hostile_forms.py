"""Hostile input through every form (hostile strings, sizes, nulls and control characters).

One driver, one table. Each row names a form: who submits it, where, a
valid submission, which fields to attack and how the saved values are read
back. For every row, hypothesis picks a field and a value built from SQL,
HTML, template syntax, format strings and control characters, and the
driver asserts what a person would notice:

* never a server error (the test client re-raises any exception);
* either the form says what is wrong (a field marked invalid, a form-level
  alert or an error message after a redirect), or it is saved and the stored
  value is exactly what was typed, give or take the normalisation the form
  documents (surrounding whitespace, runs of whitespace in one-line fields,
  CRLF in markdown), and the page that shows it has it as text: escaped,
  never executed, template syntax never evaluated.

Oversized values (one past each field's limit, and 1 MB for the markdown
bodies) must come back as a field error with the typed text still in the
field. NUL is refused with a field error before it reaches PostgreSQL,
which cannot store it. Run this file on PostgreSQL too (README: services).
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace

import html5lib
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from django.utils.html import escape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import User
from communities import services as community_services
from communities.models import Ban, Community, CommunityRequest, Invitation, Membership, Subgroup
from discussions.models import Flag, Post, Thread, ThreadGuest
from events.models import Event
from resources import services as resource_services
from resources.models import Resource
from tests import factories

pytestmark = pytest.mark.django_db

PAYLOADS = [
    "'; DROP TABLE accounts_user; --",
    "1' OR '1'='1",
    'Robert"); DELETE FROM discussions_post; --',
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "</textarea><b>bold</b>",
    "</title><svg onload=alert(1)>",
    "{{ request }}",
    "{% debug %}",
    "{{ 7|add:1 }}",
    '{% now "Y" %}',
    "{# hidden #}",
    "%s %(x)s %d %n",
    "{0} {x!r} {}",
    "Zoë ☃ 𝔘",
    "two\r\nlines\tand a tab",
    "\x00",
    "\x1b[31m",
    "\u202e",
    "\x07",
    "\x7f",
]
HOSTILE = st.lists(st.sampled_from(PAYLOADS), min_size=1, max_size=3).map(" ".join)
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
HYPOTHESIS = settings(
    max_examples=6,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# --- how each kind of field treats what was typed ---------------------------------------


def stripped(value: str) -> str:
    """Django's CharField default, plus the NFC of clean_display_text."""
    return unicodedata.normalize("NFC", value).strip()


def one_line(value: str) -> str:
    """Every one-line field (core/forms.py), and domain statements and reasons: whitespace runs become one space."""
    return " ".join(stripped(value).split())


def markdown_source(value: str) -> str:
    """Post bodies keep their whitespace (strip=False); CRLF becomes LF."""
    return value.replace("\r\n", "\n")


def markdown_field(value: str) -> str:
    """Model-form markdown fields: stripped, CRLF becomes LF."""
    return value.strip().replace("\r\n", "\n")


def tag_list(value: str) -> str:
    """Tags: split on commas, lower-cased, whitespace collapsed, duplicates dropped; compared sorted."""
    tags: list[str] = []
    for part in value.split(","):
        tag = " ".join(stripped(part).lower().split())
        if tag and tag not in tags:
            tags.append(tag)
    return ", ".join(sorted(tags))


@dataclass(frozen=True)
class Field:
    limit: int | None  # max_length, for the oversized check; None when a field has none
    stored_as: Callable[[str], str] | None = stripped  # None: hostile values must be refused (choices, emails…)
    shown: bool = True  # False for what no page shows (a chat's welcome waits for the chat to open)


@dataclass(frozen=True)
class FormCase:
    """One form: who sends it where, a valid submission, the fields under attack and how to read back."""

    name: str
    who: str | None  # an attribute of the world; None is an anonymous visitor
    url: Callable[[SimpleNamespace], str]
    valid: Callable[[SimpleNamespace], dict[str, str]]
    attacked: dict[str, Field]
    # The saved values of the object this form writes, keyed like the form fields, with its pk;
    # None while there is none.
    saved: Callable[[SimpleNamespace], tuple[int, dict[str, str]] | None] = lambda s: None
    shown_at: Callable[[SimpleNamespace], str] | None = None
    method: str = "post"
    # Fields that must carry the same value as the attacked one (password confirmation).
    mirrors: dict[str, str] = field(default_factory=dict)
    # Undo a success so the next example starts from the same state (one flag or request per person).
    reset: Callable[[SimpleNamespace], None] | None = None


def _newest(model, **filters) -> object | None:
    return model.objects.filter(**filters).order_by("-pk").first()


def _values(obj, names: list[str]) -> tuple[int, dict[str, str]] | None:
    if obj is None:
        return None
    return obj.pk, {name: getattr(obj, name) for name in names}


def _mira_in_commons() -> Membership:
    return Membership.objects.get(user__username="mira", community__slug="commons")


def _community_saved(s, slug: str | None = None):
    community = Community.objects.filter(slug=slug).first() if slug else _newest(Community)
    return _values(community, ["name", "slug", "domain", "description", "welcome"])


def _thread_saved(s):
    thread = _newest(Thread, author=s.world.member)
    if thread is None:
        return None
    return thread.pk, {
        "title": thread.title,
        "body": thread.opening_post.body,
        "tags": ", ".join(sorted(thread.tags.names())),
    }


def _edit_saved(s):
    post = Post.objects.select_related("thread").get(pk=s.conversation.opening.pk)
    return post.pk, {"title": post.thread.title, "body": post.body}


def _resource_saved(s, pk: int | None = None):
    resource = Resource.objects.filter(pk=pk).first() if pk else _newest(Resource, added_by=s.world.member)
    if resource is None:
        return None
    names = ["title", "description", "citation_authors", "citation_title", "citation_venue", "summary", "in_practice"]
    pk, values = _values(resource, names)
    values["tags"] = ", ".join(sorted(resource.tags.names()))
    return pk, values


def _event_saved(s, pk: int | None = None):
    event = Event.objects.filter(pk=pk).first() if pk else _newest(Event)
    return _values(event, ["title", "description", "place", "hashtag", "welcome"])


def _commitment(s):
    from practice import services as practice_services
    from practice.models import Commitment

    found = Commitment.objects.filter(resource=s.resource, user=s.world.facilitator).first()
    return found or practice_services.commit(s.world.facilitator, s.resource)


def _report_saved(s):
    from practice.models import ReportBack

    return _values(ReportBack.objects.filter(user=s.world.facilitator).first(), ["story"])


def _held_reply(s) -> Post:
    """A reply waiting for review, held again for each example (a turn-down hides it)."""
    from discussions import services as discussion_services

    post = Post.objects.filter(thread=s.conversation.thread, body=HELD_BODY).first()
    if post is None:
        post = discussion_services.reply(s.world.member, s.conversation.thread, HELD_BODY)
    Post.objects.filter(pk=post.pk).update(state=Post.State.HELD, state_changed_at=timezone.now(), hidden_reason="")
    return post


def _turned_down_saved(s):
    post = Post.objects.filter(body=HELD_BODY, state=Post.State.HIDDEN).first()
    return None if post is None else (post.pk, {"reason": post.hidden_reason})


def _commitment_saved(s):
    from practice.models import Commitment

    return _values(Commitment.objects.filter(user=s.world.facilitator).first(), ["note"])


def _no_commitment(s) -> None:
    from practice.models import Commitment

    Commitment.objects.filter(user=s.world.facilitator).delete()


HELD_BODY = "Held for the hostile row."


def _members_bookmark(s):
    from bookmarks import services as bookmark_services

    return bookmark_services.add_bookmark(s.world.member, s.conversation.opening)


def _members_note(s):
    """Mira's value note on the stage's resource, as the "value note edit" row's valid submission leaves it."""
    from value.models import ValueNote

    note = ValueNote.objects.filter(author=s.world.member, resource=s.resource).first()
    if note is None:
        note = ValueNote.objects.create(
            community=s.world.public, author=s.world.member, resource=s.resource, **_note_fields(s)
        )
    return note


def _note_fields(s) -> dict[str, str]:
    return {"cycle": "realised", "text": "Handovers are faster.", "measure": "20 to 10 minutes"}


def _owner_saved(s):
    resource = Resource.objects.select_related("owner").get(pk=s.resource.pk)
    return resource.pk, {"username": resource.owner.username if resource.owner else ""}


def _hidden_saved(s):
    post = Post.objects.filter(pk=s.conversation.answer.pk, state=Post.State.HIDDEN).first()
    return None if post is None else (post.pk, {"reason": post.hidden_reason})


def _unhide(s):
    Post.objects.filter(pk=s.conversation.answer.pk).update(
        state=Post.State.VISIBLE, state_changed_at=None, hidden_by=None, hidden_reason=""
    )


def _pending_request(s) -> CommunityRequest:
    """The outsider's request waiting for a site admin (a new one once the last is declined)."""
    found = CommunityRequest.objects.filter(requester=s.world.outsider, state="pending").first()
    if found is None:
        found = community_services.request_community(
            s.world.outsider,
            name="Dusk Harbour",
            domain="Discharge planning.",
            why="We need it.",
            visibility="open",
            join_policy="open",
        )
    return found


def _decline_saved(s):
    declined = _newest(CommunityRequest, state="declined")
    return None if declined is None else (declined.pk, {"reason": declined.decline_reason})


def _join_saved(s):
    membership = _newest(Membership, user=s.world.outsider, community=s.world.approval)
    return None if membership is None else (membership.pk, {"message": membership.request_message})


def _leave_approval(s):
    Membership.objects.filter(user=s.world.outsider, community=s.world.approval).delete()


def _research(s) -> dict[str, str]:
    return {
        "kind": "research",
        "title": "Graded exposure",
        "url": "",
        "description": "A summary.",
        "citation_authors": "Ames, B.",
        "citation_title": "Graded exposure in practice",
        "citation_venue": "Pain",
        "citation_year": "2020",
        "citation_link": "10.1000/xyz",
        "summary": "It helps.",
        "in_practice": "Start small.",
        "try_this": "Agree one small first step.",
        "tags": "exposure",
    }


def _event_fields(s) -> dict[str, str]:
    day = (timezone.now() + timedelta(days=7)).date().isoformat()
    return {
        "title": "Monthly chat",
        "kind": "chat",
        "date": day,
        "start_time": "18:00",
        "duration": "60",
        "time_zone": "UTC",
        "description": "Bring a case.",
        "link": "",
        "place": "",
        "hashtag": "#painchat",
        "welcome": "Welcome!",
        "questions": ":05 What brought you here?",
    }


def _series_fields(s) -> dict[str, str]:
    day = timezone.now().date() + timedelta(days=7)
    return {
        **_event_fields(s),
        "date": day.isoformat(),
        "repeat": "weekly",
        "every": "1",
        "weekdays": str(day.weekday()),
        "count": "4",
        "skip_dates": (day + timedelta(days=7)).isoformat(),
    }


def _series_saved(s):
    from events.models import EventSeries

    return _values(_newest(EventSeries), ["title", "description", "place", "hashtag", "welcome"])


def _community_fields(slug: str) -> dict[str, str]:
    return {
        "name": "Night Shift",
        "slug": slug,
        "domain": "Getting better at nights.",
        "description": "We **meet** monthly.",
        "visibility": "open",
        "join_policy": "open",
        "default_cadence": "weekly",
    }


TEXT_NAME = Field(80, one_line)
PASSWORD = "correct horse battery"

CASES = [
    FormCase(
        "sign-up",
        None,
        lambda s: "/accounts/signup/",
        lambda s: {
            "email": f"new{s.next()}@example.org",
            "username": f"new{s.next()}",
            "password1": "a long unusual passphrase 7",
            "password2": "a long unusual passphrase 7",
            "display_name": "New Person",
            "website": "",
        },
        {
            "display_name": TEXT_NAME,
            "username": Field(150, None),
            "email": Field(None, None),
            "time_zone": Field(None, None),
        },
        saved=lambda s: _values(_newest(User), ["display_name", "username", "email"]),
        shown_at=lambda s: f"/u/{_newest(User).username}/",
    ),
    FormCase(
        "login",
        None,
        lambda s: "/accounts/login/",
        lambda s: {"login": "mira@example.org", "password": "not the password"},
        {"login": Field(None, None), "password": Field(None, None)},
    ),
    FormCase(
        "password reset",
        None,
        lambda s: "/accounts/password/reset/",
        lambda s: {"email": "mira@example.org"},
        {"email": Field(None, None)},
    ),
    FormCase(
        "password change",
        "member",
        lambda s: "/accounts/password/change/",
        lambda s: {"oldpassword": "wrong " + PASSWORD, "password1": "a new passphrase 42", "password2": "x"},
        {"oldpassword": Field(None, None), "password1": Field(None, None)},
        mirrors={"password1": "password2"},
    ),
    FormCase(
        "email change",
        "member",
        lambda s: "/accounts/email/",
        lambda s: {"email": "mira.new@example.org", "action_add": ""},
        {"email": Field(None, None)},
    ),
    FormCase(
        "account deletion",
        "member",
        lambda s: "/settings/delete/",
        lambda s: {"password": "not the password", "confirm_username": "mira"},
        {"password": Field(None, None), "confirm_username": Field(150, None)},
    ),
    FormCase(
        "profile",
        "member",
        lambda s: "/settings/profile/",
        lambda s: {"display_name": "Mira", "bio": "Nurse.", "time_zone": "UTC"},
        {"display_name": TEXT_NAME, "bio": Field(500), "time_zone": Field(None, None)},
        saved=lambda s: _values(User.objects.get(pk=s.world.member.pk), ["display_name", "bio"]),
        shown_at=lambda s: "/u/mira/",
    ),
    FormCase(
        "community create",
        "admin",
        lambda s: "/c/new/",
        lambda s: _community_fields(f"night-{s.next()}"),
        {
            "name": TEXT_NAME,
            "domain": Field(300, one_line),
            "description": Field(20_000, markdown_field),
            "slug": Field(60, None),
            "visibility": Field(None, None),
        },
        saved=_community_saved,
        shown_at=lambda s: _newest(Community).get_absolute_url(),
    ),
    FormCase(
        "community settings",
        "owner",
        lambda s: "/c/commons/edit/",
        lambda s: _community_fields("commons"),
        {
            "name": TEXT_NAME,
            "domain": Field(300, one_line),
            "description": Field(20_000, markdown_field),
            "join_policy": Field(None, None),
            "welcome": Field(5_000, markdown_field, shown=False),
            "introductions_thread_id": Field(None, None),
        },
        saved=lambda s: _community_saved(s, "commons"),
        shown_at=lambda s: "/c/commons/",
    ),
    FormCase(
        "community request",
        "member",
        lambda s: "/c/request/",
        lambda s: {
            "name": f"Dusk Circle {s.next()}",
            "domain": "Discharge planning at dusk.",
            "why": "Twelve of us meet monthly.",
            "visibility": "open",
            "join_policy": "open",
        },
        {
            "name": TEXT_NAME,
            "domain": Field(300, one_line),
            "why": Field(2000),
            "visibility": Field(None, None),
            "join_policy": Field(None, None),
        },
        saved=lambda s: _values(_newest(CommunityRequest, requester=s.world.member), ["name", "domain", "why"]),
        shown_at=lambda s: "/c/request/",
        reset=lambda s: CommunityRequest.objects.filter(requester=s.world.member).delete(),
    ),
    FormCase(
        "community request decline",
        "admin",
        lambda s: f"/c/requests/{_pending_request(s).pk}/decline/",
        lambda s: {"reason": "Ward Commons covers it."},
        {"reason": Field(500, one_line)},
        saved=_decline_saved,
        shown_at=lambda s: "/c/requests/",
    ),
    FormCase(
        "invitation",
        "facilitator",
        lambda s: "/c/commons/facilitate/invite/",
        lambda s: {"email": f"guest{s.next()}@example.org", "message": "Come along."},
        {"message": Field(500), "email": Field(None, None)},
        saved=lambda s: _values(_newest(Invitation), ["message", "email"]),
    ),
    FormCase(
        "subgroup create",
        "facilitator",
        lambda s: "/c/commons/subgroups/",
        lambda s: {"name": f"Group {s.next()}", "description": "Hard cases, in confidence."},
        {"name": Field(60, one_line), "description": Field(200, one_line)},
        saved=lambda s: _values(_newest(Subgroup), ["name", "description"]),
        shown_at=lambda s: f"/c/commons/subgroups/{_newest(Subgroup).slug}/",
    ),
    FormCase(
        "guest invite",
        "facilitator",
        lambda s: f"/c/commons/t/{s.conversation.thread.pk}/guests/",
        lambda s: {"email": f"expert{s.next()}@example.org", "days": "14", "message": "Your view?"},
        {"message": Field(500), "email": Field(None, None), "days": Field(None, None)},
        saved=lambda s: _values(_newest(ThreadGuest), ["message", "email"]),
    ),
    FormCase(
        "ban",
        "facilitator",
        lambda s: f"/c/commons/members/{_mira_in_commons().pk}/ban/",
        lambda s: {"reason": "Spam after warnings", "until": (timezone.localdate() + timedelta(days=10)).isoformat()},
        {"reason": Field(300, one_line), "until": Field(None, None)},
        saved=lambda s: _values(_newest(Ban, community__slug="commons"), ["reason"]),
        shown_at=lambda s: "/c/commons/facilitate/",
        reset=lambda s: community_services.unban(s.world.owner, s.world.public, _mira_in_commons().pk),
    ),
    FormCase(
        "audit log filter",
        "facilitator",
        lambda s: "/c/commons/facilitate/audit/",
        lambda s: {"action": "", "person": "olive"},
        {"person": Field(None, None), "action": Field(None, None)},
        method="get",
    ),
    FormCase(
        "facilitator alerts",
        "facilitator",
        lambda s: "/notifications/alerts/",
        lambda s: {"cadence": "immediately"},
        {"cadence": Field(None, None)},
    ),
    FormCase(
        "join request",
        "outsider",
        lambda s: "/c/guild/join/",
        lambda s: {"message": "I run a rehab ward."},
        {"message": Field(500)},
        saved=_join_saved,
        reset=_leave_approval,
    ),
    FormCase(
        "thread start",
        "member",
        lambda s: "/c/commons/threads/new/",
        lambda s: {
            "title": "Night rounds",
            "kind": "discussion",
            "body": "How do you do them?",
            "tags": "rounds",
            "submission_key": f"k{s.next()}",
        },
        {"title": Field(200, one_line), "body": Field(20_000, markdown_source), "tags": Field(400, tag_list)},
        saved=_thread_saved,
        shown_at=lambda s: _newest(Thread, author=s.world.member).get_absolute_url(),
    ),
    FormCase(
        "thread edit",
        "member",
        lambda s: f"/p/{s.conversation.opening.pk}/edit/",
        lambda s: {"title": "Pain in delirium", "body": "We use PAINAD."},
        {"title": Field(200, one_line), "body": Field(20_000, markdown_source)},
        saved=_edit_saved,
        shown_at=lambda s: s.conversation.thread.get_absolute_url(),
    ),
    FormCase(
        "reply",
        "member",
        lambda s: f"/c/commons/t/{s.conversation.thread.pk}/reply/",
        lambda s: {"body": "Thanks!", "submission_key": f"r{s.next()}"},
        {"body": Field(20_000, markdown_source)},
        saved=lambda s: _values(_newest(Post, author=s.world.member, thread=s.conversation.thread), ["body"]),
        shown_at=lambda s: f"/p/{_newest(Post, author=s.world.member).pk}/",
    ),
    FormCase(
        "reply edit",
        "facilitator",
        lambda s: f"/p/{s.conversation.answer.pk}/edit/",
        lambda s: {"body": "Try the Abbey scale."},
        {"body": Field(20_000, markdown_source)},
        saved=lambda s: _values(Post.objects.get(pk=s.conversation.answer.pk), ["body"]),
        shown_at=lambda s: f"/p/{s.conversation.answer.pk}/",
    ),
    FormCase(
        "flag",
        "member",
        lambda s: f"/p/{s.conversation.answer.pk}/flag/",
        lambda s: {"reason": "Off topic."},
        {"reason": Field(500, one_line)},
        saved=lambda s: _values(_newest(Flag, user=s.world.member), ["reason"]),
        reset=lambda s: Flag.objects.filter(user=s.world.member).delete(),
    ),
    FormCase(
        "hide with reason",
        "facilitator",
        lambda s: f"/p/{s.conversation.answer.pk}/hide/",
        lambda s: {"reason": "Names a patient."},
        {"reason": Field(500, one_line)},
        saved=_hidden_saved,
        reset=_unhide,
    ),
    FormCase(
        "turn down a held post",
        "facilitator",
        lambda s: f"/p/{_held_reply(s).pk}/reject/",
        lambda s: {"reason": "Links to a shop."},
        {"reason": Field(500, one_line)},
        saved=_turned_down_saved,
    ),
    FormCase(
        "commit to try a resource",
        "facilitator",
        lambda s: f"/c/commons/library/{s.resource.pk}/try/",
        lambda s: {"note": "On night rounds", "try_by": ""},
        {"note": Field(300), "try_by": Field(None, None)},
        saved=_commitment_saved,
        reset=_no_commitment,
    ),
    FormCase(
        "report back",
        "facilitator",
        lambda s: f"/c/commons/library/{_commitment(s).resource_id}/how-it-went/",
        lambda s: {"outcome": "helped", "story": "It calmed the night."},
        {"story": Field(2000, markdown_field), "outcome": Field(None, None)},
        saved=_report_saved,
    ),
    FormCase(
        "move",
        "facilitator",
        lambda s: f"/c/commons/t/{s.conversation.thread.pk}/moderate/",
        lambda s: {"action": "move", "community": str(s.world.private.pk)},
        {"community": Field(None, None), "action": Field(None, None)},
    ),
    FormCase(
        "resource create",
        "member",
        lambda s: "/c/commons/library/add/",
        _research,
        {
            "title": Field(200, one_line),
            "description": Field(20_000, markdown_field),
            "citation_authors": Field(300, one_line),
            "citation_title": Field(300, one_line),
            "citation_venue": Field(200, one_line),
            "summary": Field(10_000, markdown_field),
            "in_practice": Field(10_000, markdown_field),
            "try_this": Field(500, one_line),
            "tags": Field(400, tag_list),
            "url": Field(500, None),
            "citation_year": Field(None, None),
        },
        saved=_resource_saved,
        shown_at=lambda s: _newest(Resource, added_by=s.world.member).get_absolute_url(),
    ),
    FormCase(
        "resource edit",
        "member",
        lambda s: s.resource.get_absolute_url() + "edit/",
        _research,
        {
            "title": Field(200, one_line),
            "summary": Field(10_000, markdown_field),
            "citation_venue": Field(200, one_line),
        },
        saved=lambda s: _resource_saved(s, s.resource.pk),
        shown_at=lambda s: s.resource.get_absolute_url(),
    ),
    FormCase(
        "resource owner",
        "facilitator",
        lambda s: s.resource.get_absolute_url() + "owner/",
        lambda s: {"username": "olive"},
        {"username": Field(150, None)},
        saved=_owner_saved,
    ),
    FormCase(
        "value note edit",
        "member",
        lambda s: f"/value/notes/{_members_note(s).pk}/edit/",
        _note_fields,
        {"text": Field(2000, stripped), "measure": Field(300, one_line), "cycle": Field(None, None)},
        saved=lambda s: _values(_members_note(s), ["text", "measure", "cycle"]),
        shown_at=lambda s: s.resource.get_absolute_url(),
    ),
    FormCase(
        "event create",
        "facilitator",
        lambda s: "/c/commons/events/new/",
        _event_fields,
        {
            "title": Field(200, one_line),
            "description": Field(10_000, stripped),
            "place": Field(300, one_line),
            "hashtag": Field(60, None),
            "welcome": Field(5_000, shown=False),
            "questions": Field(None, None),
            "link": Field(500, None),
            "time_zone": Field(None, None),
            "date": Field(None, None),
        },
        saved=_event_saved,
        shown_at=lambda s: _newest(Event).get_absolute_url(),
    ),
    FormCase(
        "event series create",
        "facilitator",
        lambda s: "/c/commons/events/new/",
        _series_fields,
        {
            "title": Field(200, one_line),
            "repeat": Field(None, None),
            "every": Field(None, None),
            "weekdays": Field(None, None),
            "month_week": Field(None, None),
            "end_date": Field(None, None),
            "count": Field(None, None),
            "skip_dates": Field(3_000, None),
        },
        saved=_series_saved,
        shown_at=lambda s: _newest(Event).get_absolute_url(),
    ),
    FormCase(
        "event edit",
        "facilitator",
        lambda s: s.event.get_absolute_url() + "edit/",
        _event_fields,
        {"title": Field(200, one_line), "place": Field(300, one_line), "welcome": Field(5_000, shown=False)},
        saved=lambda s: _event_saved(s, s.event.pk),
        shown_at=lambda s: s.event.get_absolute_url(),
    ),
    FormCase(
        "RSVP",
        "member",
        lambda s: s.event.get_absolute_url() + "rsvp/",
        lambda s: {"answer": "going"},
        {"answer": Field(None, None)},
    ),
    FormCase(
        "digest preferences",
        "member",
        lambda s: "/settings/email/",
        lambda s: {"digest_hour": "7", "digest_weekday": "0", "email_notifications": "reply"},
        {name: Field(None, None) for name in ("digest_hour", "digest_weekday", "email_notifications")},
    ),
    FormCase(
        "email pause",
        "member",
        lambda s: "/settings/email/",
        lambda s: {"pause": "on", "pause-pause_for": "week"},
        {"pause-pause_for": Field(None, None)},
    ),
    FormCase(
        "bookmark reminder",
        "member",
        lambda s: f"/bookmarks/{_members_bookmark(s).pk}/",
        lambda s: {"when": "tomorrow", "note": "Before rounds", "day": "", "at": ""},
        {
            "note": Field(200, one_line),
            "when": Field(None, None),
            "day": Field(None, None),
            "at": Field(None, None),
        },
        saved=lambda s: _values(_members_bookmark(s), ["note"]),
        shown_at=lambda s: "/bookmarks/",
    ),
    FormCase(
        "search",
        None,
        lambda s: "/search/",
        lambda s: {"q": "pain"},
        {"q": Field(None, None), "kind": Field(None, None), "page": Field(None, None)},
        method="get",
    ),
    FormCase(
        "community directory search",
        None,
        lambda s: "/c/",
        lambda s: {"q": "ward"},
        {"q": Field(None, None), "page": Field(None, None)},
        method="get",
    ),
]


# --- reading pages ----------------------------------------------------------------------


def _tree(content: bytes):
    return html5lib.parse(content, treebuilder="etree", namespaceHTMLElements=False)


def _classes(el) -> set[str]:
    return set(el.get("class", "").split())


def field_marked_invalid(content: bytes, name: str) -> bool:
    """The control named ``name`` sits inside an element marked invalid (ours and allauth's templates)."""
    for el in _tree(content).iter():
        if "field-invalid" in _classes(el) and any(c.get("name") == name for c in el.iter()):
            return True
    return False


def refusal_shown(content: bytes, name: str) -> bool:
    """The page says something was wrong: the field marked invalid, a form alert or an error message."""
    if field_marked_invalid(content, name):
        return True
    for el in _tree(content).iter():
        classes = _classes(el)
        if el.get("role") == "alert" or classes & {"message-error", "message-info", "message-warning", "errorlist"}:
            return True
    return False


def _comparable(text: str) -> str:
    # Browsers show control characters as nothing worth comparing; markdown drops them.
    return " ".join(CONTROL_CHARACTERS.sub("", text).split())


def page_text(content: bytes) -> str:
    body = _tree(content).find("body")
    return _comparable("".join(body.itertext()))


def assert_shown_as_text(client: Client, url: str, value: str) -> None:
    response = client.get(url, follow=True)
    assert response.status_code == 200, url
    text = page_text(response.content)
    for line in value.splitlines() or [value]:
        assert _comparable(line) in text, f"{line!r} not shown literally at {url}"
    # Template syntax typed by people is never evaluated: no debug dump, no request repr.
    assert b"&lt;WSGIRequest" not in response.content and b"<WSGIRequest" not in response.content
    assert b"sql_queries" not in response.content


# --- the driver -------------------------------------------------------------------------


@pytest.fixture
def stage(world, conversation, settings):
    """The world plus a resource and an event to edit, with rate limits out of the way."""
    settings.POST_RATE_LIMIT = settings.NEW_ACCOUNT_POST_RATE_LIMIT = "100000/60"
    settings.ACCOUNT_RATE_LIMITS = False
    settings.RATE_LIMITS = {action: ("100000/60", "100000/60") for action in getattr(settings, "RATE_LIMITS", {})}
    counter = itertools.count(1)
    resource = resource_services.add_resource(
        world.member,
        world.public,
        fields={**{k: v for k, v in _research(None).items() if k != "tags"}, "citation_year": 2020},
        tags=["exposure"],
    )
    event = factories.event(
        world.facilitator,
        world.public,
        title="Monthly chat",
        starts=timedelta(days=3),
        questions=[(5, "What brought you here?")],
    )
    return SimpleNamespace(
        world=world, conversation=conversation, resource=resource, event=event, next=lambda: next(counter)
    )


def client_for(stage: SimpleNamespace, who: str | None) -> Client:
    client = Client()
    if who is not None:
        client.force_login(getattr(stage.world, who))
    return client


def submit(client: Client, case: FormCase, stage: SimpleNamespace, changes: dict[str, str]):
    data = {**case.valid(stage), **changes}
    for source, copy in case.mirrors.items():
        if source in changes:
            data[copy] = changes[source]
    url = case.url(stage)
    return client.get(url, data) if case.method == "get" else client.post(url, data)


def check_hostile_submission(client: Client, case: FormCase, stage: SimpleNamespace, name: str, value: str) -> None:
    before = case.saved(stage)
    response = submit(client, case, stage, {name: value})
    assert response.status_code in (200, 302, 400, 403, 429), response.status_code
    after = case.saved(stage)
    if after is not None and after != before:
        kind = case.attacked[name]
        assert kind.stored_as is not None, f"{case.name}: {name}={value!r} was accepted"
        assert after[1][name] == kind.stored_as(value), f"{case.name}: {name} stored differently"
        if case.shown_at is not None and kind.shown:
            assert_shown_as_text(client, case.shown_at(stage), kind.stored_as(value))
        if case.reset:
            case.reset(stage)
        return
    if case.method == "get":
        # Searches answer with a page; what was typed is shown back as text, not run.
        # A NUL in a URL is a 400 (core.middleware.RejectNulMiddleware).
        assert response.status_code == (400 if "\x00" in value else 200)
        assert b"<script>alert(1)</script>" not in response.content
        return
    if response.status_code == 302:
        response = client.get(response["Location"], follow=True)
    assert refusal_shown(response.content, name), f"{case.name}: {name}={value!r} neither saved nor refused"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_values_are_refused_or_stored_and_shown_literally(stage, case):
    client = client_for(stage, case.who)

    @HYPOTHESIS
    @given(name=st.sampled_from(sorted(case.attacked)), value=HOSTILE)
    def attack(name: str, value: str) -> None:
        check_hostile_submission(client, case, stage, name, value)

    attack()


def test_every_form_in_the_product_is_in_the_table():
    """A new form class must join CASES (or this list, with a reason) to be covered."""
    import importlib

    from django import forms

    covered_elsewhere = {
        "RoleForm": "choices only; member actions are covered by the authorization matrix",
        "LevelForm": "choices only; member actions are covered by the authorization matrix",
        "ThreadWatchForm": "choices only; tests/test_watching.py sends unknown and hostile levels",
        "CommunityWatchForm": "choices only; tests/test_watching.py sends unknown and hostile levels",
        "ReviewForm": "tests/test_repertoire.py sends empty, past, far, invisible-character and oversized input",
        "SupersedeForm": "choices only; tests/test_repertoire.py sends other libraries', drafts' and injected ids",
        "LinkThreadForm": "tests/test_repertoire.py sends invisible threads, scripts, unknown ids and relations",
        "SubgroupMemberForm": "choices only; tests/test_subgroups_and_guests.py sends outsiders' and banned ids",
        "GuestExtendForm": "a number only; tests/test_subgroups_and_guests.py sends 0, 91 and words",
        "BuddyForm": "a username only; tests/test_newcomers.py sends non-members, banned, unknown and script names",
        "ExpertiseForm": "choices only; tests/test_member_directory.py sends tags outside the vocabulary and too many",
        "MemberFilterForm": "a GET filter; tests/test_member_directory.py sends script and unparseable filters",
        "PersonalNoteForm": "the base of InviteForm and GuestInviteForm, both in the table",
    }
    table = {
        "SignupExtraForm": "sign-up",
        "DeleteAccountForm": "account deletion",
        "ProfileForm": "profile",
        "CommunityForm": "community create",
        "JoinForm": "join request",
        "CommunityRequestForm": "community request",
        "DeclineRequestForm": "community request decline",
        "InviteForm": "invitation",
        "BanForm": "ban",
        "AuditFilterForm": "audit log filter",
        "AlertSettingsForm": "facilitator alerts",
        "ThreadForm": "thread start",
        "ReplyForm": "reply",
        "EditForm": "thread edit",
        "ReasonForm": "flag",
        "MoveForm": "move",
        "EventForm": "event create",
        "ResourceForm": "resource create",
        "RhythmForm": "digest preferences",
        "ReminderForm": "bookmark reminder",
        "PauseForm": "email pause",
        "OwnerForm": "resource owner",
        "ValueNoteForm": "value note edit",
        "SubgroupForm": "subgroup create",
        "GuestInviteForm": "guest invite",
        "TurnDownForm": "turn down a held post",
    }
    found = set()
    modules = ["accounts.forms", "communities.forms", "discussions.forms", "events.forms"]
    others = ["resources.forms", "digests.forms", "portability.forms", "bookmarks.forms", "notifications.forms"]
    for module in [*modules, *others, "value.forms"]:
        for name, obj in vars(importlib.import_module(module)).items():
            if isinstance(obj, type) and issubclass(obj, forms.BaseForm) and obj.__module__ == module:
                found.add(name)
    missing = found - table.keys() - covered_elsewhere.keys()
    assert not missing, f"forms without a hostile-input row: {sorted(missing)}"
    assert set(table.values()) <= {c.name for c in CASES}


# --- oversized --------------------------------------------------------------------------

OVERSIZED = [case for case in CASES if any(kind.limit for kind in case.attacked.values())]
# Markdown bodies also get a megabyte: far past the limit, still kept in the form.
MEGABYTE_FIELDS = {"thread start": "body", "reply": "body", "community settings": "description"}


def _too_long(limit: int) -> str:
    # Markup characters, so "kept in the field" also means "escaped there".
    return ('<b>"&' + "x" * limit)[: limit + 1]


@pytest.mark.parametrize("case", OVERSIZED, ids=[c.name for c in OVERSIZED])
def test_oversized_values_get_a_field_error_and_stay_in_the_field(stage, case):
    client = client_for(stage, case.who)
    attempts = [(name, _too_long(kind.limit)) for name, kind in case.attacked.items() if kind.limit]
    if case.name in MEGABYTE_FIELDS:
        attempts.append((MEGABYTE_FIELDS[case.name], "<i>one megabyte</i> " * 50_000))
    for name, value in attempts:
        before = case.saved(stage)
        response = submit(client, case, stage, {name: value})
        assert case.saved(stage) == before, f"an oversized {name} was saved"
        assert response.status_code in (200, 400)
        if len(value) < 100_000:
            assert field_marked_invalid(response.content, name), name
        else:
            assert b"field-invalid" in response.content
        assert escape(value).encode() in response.content, f"{name} not kept"


# --- NUL and uploads --------------------------------------------------------------------


def test_nul_is_a_field_error_not_a_database_error(stage):
    for case_name, name in [
        ("thread start", "title"),
        ("thread start", "body"),
        ("profile", "bio"),
        ("resource create", "citation_venue"),
    ]:
        case = next(c for c in CASES if c.name == case_name)
        client = client_for(stage, case.who)
        response = submit(client, case, stage, {name: "before\x00after"})
        assert response.status_code == 200
        assert field_marked_invalid(response.content, name)
        assert "Null characters are not allowed." in response.content.decode()


def test_chat_questions_with_odd_minutes_or_overlong_text_get_a_clear_error(stage):
    case = next(c for c in CASES if c.name == "event create")
    client = client_for(stage, case.who)
    for questions, error in [
        (":² What brought you here?", "Line 1: start with the minute"),
        (":05 Fine\n:10 " + "x" * 501, "Line 2: keep each question under 500 characters."),
    ]:
        response = submit(client, case, stage, {"questions": questions})
        assert response.status_code == 200
        assert field_marked_invalid(response.content, "questions")
        assert error in page_text(response.content)
        assert escape(questions.splitlines()[-1]).encode() in response.content


INVALID_UTF8 = [
    b"\xed\xa0\x80 an encoded lone surrogate",
    b"\xff\xfe\x00t\x00e\x00x\x00t",
    b"caf\xe9 latin-1",
    b"\xc0\xaf overlong slash",
]


def test_a_text_upload_that_is_not_utf8_is_refused_clearly(stage):
    client = client_for(stage, "member")
    before = Resource.objects.count()
    for content in INVALID_UTF8:
        upload = SimpleUploadedFile("notes.txt", content, "text/plain")
        response = client.post("/c/commons/library/add/", {**_research(stage), "kind": "file", "upload": upload})
        assert response.status_code == 200
        assert field_marked_invalid(response.content, "upload")
        assert Resource.objects.count() == before
        # The other fields keep what was typed.
        assert b'value="Graded exposure"' in response.content


def _multipart(fields: dict[str, bytes], filename: str, boundary: str = "hostileboundary") -> bytes:
    parts = []
    for name, value in fields.items():
        disposition = f'form-data; name="{name}"'
        if name == "upload":
            disposition += f'; filename="{filename}"'
        parts.append(f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode("latin-1") + value + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode()


# Latin-1 on the wire, so "\xe9" is a byte that is not UTF-8.
HOSTILE_FILENAMES = ["n\xe9\r\nX-Evil: 1.txt", "a\x00b.txt", "../../etc/passwd.txt", '"; filename="x.html']


def test_invalid_utf8_in_multipart_fields_and_file_names_is_not_a_server_error(stage):
    client = client_for(stage, "member")
    fields = {k: v.encode() for k, v in _research(stage).items()}
    fields["title"] = b"Caf\xe9 \xed\xa0\x80 \xff"
    fields["upload"] = b"plain text"
    fields["kind"] = b"file"
    for filename in HOSTILE_FILENAMES:
        response = client.post(
            "/c/commons/library/add/",
            data=_multipart(fields, filename),
            content_type="multipart/form-data; boundary=hostileboundary",
        )
        assert response.status_code in (200, 302, 400), filename
        if response.status_code != 302:
            # A CR/LF ends the part's header early, a second filename names an .html: both refused.
            assert refusal_shown(response.content, "upload"), filename
            continue
        resource = _newest(Resource, added_by=stage.world.member)
        # Undecodable bytes become U+FFFD; nothing else of the title is lost.
        assert resource.title.startswith("Caf") and "\ufffd" in resource.title
        assert not set("\x00\r\n/\\") & set(resource.file_name), resource.file_name
        download = client.get(resource.get_absolute_url() + "file/")
        assert download.status_code == 200
        assert download["Content-Disposition"].startswith("attachment")
        assert "X-Evil" not in download.headers
