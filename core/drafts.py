"""Drafts: what a member types into a posting form, kept until the server says it became a post.

static/js/site.js keeps every field of a posting form (its text boxes,
choices, dates and tags; never files, passwords or hidden fields) in the
browser's localStorage, under the key the form carries in its ``draft_key``
field, so the text survives a failed submit, a lost connection or a closed
tab. For a member it also keeps one copy here (``Draft``, through
``/drafts/<key>/``), so a draft follows them to another device; on page load
the newer of the two copies wins, by the time it was last typed into.

Only the server knows when the text became a post, so only its answer to a
successful submit may end a draft: ``posted()`` deletes the member's copy
here, notes the key and the time as posted (``PostedDraft``), and names the
key in a short-lived cookie on that answer (the redirect after a plain
submit, the fragment after an htmx one). site.js reads the cookie on the next
page, or as the htmx answer arrives, deletes the drafts it names and the
cookie *before* it restores any draft. A page that merely shows a success
message says nothing about a draft (an earlier "success message means posted"
rule put a posted reply back into the box on the next page, and it was posted
twice).

A save can arrive after the post it became (a save sent as the page was
left, a second device's autosave): ``save()`` refuses a text typed before the
key was last posted, so a posted text never comes back from here, and the
browser drops its own copy that old when the server tells it the key was
posted after it.

A refused submit (a form error, a rate limit, a network failure) ends
nothing, so the text stays.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DatabaseError, transaction
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils import timezone

from core.models import Draft, PostedDraft

log = logging.getLogger(__name__)

FIELD = "draft_key"
COOKIE = "copsite_posted"
# Keys the templates make: "reply-12-thread", "chat-40", "thread-3", "resource-3", "event-3".
KEY = re.compile(r"[a-z0-9-]{1,60}\Z")
# The page after the redirect reads the cookie at once; a few minutes cover a slow
# load, and several keys cover posts from several tabs before any page read them.
MAX_AGE = 600
MAX_KEYS = 8

# The server's copies. A draft holds a form's fields, nothing larger than a long post
# (the body's own cap is 20,000 characters); 64 KB also fits one keepalive request.
MAX_BYTES = 64 * 1024
MAX_FIELDS = 64
MAX_CHOICES = 200
# Field names as Django's forms make them ("title", "to12-body", "citation_year").
FIELD_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}\Z")
# Never kept, whatever a client sends: the anti-forgery token, the draft's own key, the
# double-submit key, and anything named like a password.
NOT_KEPT = {"csrfmiddlewaretoken", FIELD, "submission_key"}
PER_MEMBER = 50
KEEP = timedelta(days=30)

Response = TypeVar("Response", bound=HttpResponseBase)


class BadDraft(ValueError):
    """A save whose body is not a draft this site would have written (answered with 400)."""


def ms(moment: datetime) -> int:
    """A time as the browser counts it: milliseconds since 1970 (UTC)."""
    return int(moment.timestamp() * 1000)


def from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def parse(body: bytes) -> tuple[dict[str, str | list[str]], datetime]:
    """A save's body, ``{"fields": {name: text or [values]}, "updated": ms}``, checked field by field."""
    if len(body) > MAX_BYTES + 1024:
        raise BadDraft("too large")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadDraft("not JSON") from exc
    if not isinstance(data, dict) or set(data) - {"fields", "updated"}:
        raise BadDraft("not a draft")
    fields, updated = data.get("fields"), data.get("updated")
    if not isinstance(fields, dict) or not fields or len(fields) > MAX_FIELDS:
        raise BadDraft("fields")
    # bool is an int to Python; a time is a whole number of milliseconds after 2020.
    if type(updated) is not int or not 1_577_836_800_000 <= updated <= 2**53:
        raise BadDraft("updated")
    clean: dict[str, str | list[str]] = {}
    for name, value in fields.items():
        if not FIELD_NAME.match(name) or name in NOT_KEPT or "password" in name.lower():
            raise BadDraft(f"field name {name!r}")
        values = value if isinstance(value, list) else [value]
        if isinstance(value, list) and len(value) > MAX_CHOICES:
            raise BadDraft(f"too many values in {name}")
        for text in values:
            # PostgreSQL holds neither U+0000 nor a lone surrogate in JSON text.
            if not isinstance(text, str) or "\x00" in text:
                raise BadDraft(f"value of {name}")
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise BadDraft(f"value of {name}") from exc
        clean[name] = value
    if len(json.dumps(clean, ensure_ascii=False).encode("utf-8")) > MAX_BYTES:
        raise BadDraft("too large")
    return clean, from_ms(updated)


@dataclass(frozen=True)
class State:
    """What the server holds for a member's form key: a draft, and when the key was last posted."""

    fields: dict[str, Any] | None
    updated_at: datetime | None
    posted_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {
            "fields": self.fields,
            "updated": ms(self.updated_at) if self.updated_at else None,
            "posted": ms(self.posted_at) if self.posted_at else None,
            "now": ms(timezone.now()),
        }


def read(user: Any, key: str) -> State:
    """The member's own draft for ``key`` (only ever theirs: the user is the filter)."""
    draft = Draft.objects.filter(user=user, key=key).only("fields", "updated_at").first()
    posted_at = PostedDraft.objects.filter(user=user, key=key).values_list("posted_at", flat=True).first()
    return State(draft.fields if draft else None, draft.updated_at if draft else None, posted_at)


def _lock_member(user: Any) -> None:
    """Saves and posts of one member's drafts take turns (a save must not slip in between a post's two writes)."""
    list(get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))


def save(user: Any, key: str, fields: dict[str, str | list[str]], typed_at: datetime) -> tuple[bool, State]:
    """Keep ``fields`` as the member's draft for ``key``, unless it is older than what is here already.

    Returns whether it was kept, and what is here now. Not kept when the text was
    typed before the key was last posted — a late save of a text that is now a
    post — or before the draft here was last typed into on another device.
    Keeps at most ``PER_MEMBER`` drafts per member, dropping the oldest.
    """
    now = timezone.now()
    typed_at = min(typed_at, now)  # a clock running fast does not make a draft win for ever
    with transaction.atomic():
        _lock_member(user)
        posted_at = PostedDraft.objects.filter(user=user, key=key).values_list("posted_at", flat=True).first()
        if posted_at is not None and typed_at <= posted_at:
            return False, read(user, key)
        changed = Draft.objects.filter(user=user, key=key, updated_at__lte=typed_at).update(
            fields=fields, updated_at=typed_at
        )
        if not changed:
            if Draft.objects.filter(user=user, key=key).exists():
                return False, read(user, key)  # a newer text from another device stays
            # No race for the same key: the member's lock is held (SQLite writes one at a time anyway).
            Draft.objects.create(user=user, key=key, fields=fields, updated_at=typed_at)
            oldest = list(
                Draft.objects.filter(user=user).order_by("-updated_at", "-pk").values_list("pk", flat=True)[PER_MEMBER:]
            )
            if oldest:
                Draft.objects.filter(pk__in=oldest).delete()
    return True, State(fields, typed_at, posted_at)


def discard(user: Any, key: str) -> None:
    """The member emptied the form: nothing to keep."""
    Draft.objects.filter(user=user, key=key).delete()


def forget(user: Any, key: str) -> None:
    """The draft for ``key`` became a post: delete the member's copy and note when, in one transaction."""
    with transaction.atomic():
        _lock_member(user)
        Draft.objects.filter(user=user, key=key).delete()
        PostedDraft.objects.update_or_create(user=user, key=key, defaults={"posted_at": timezone.now()})


def sweep(now: datetime | None = None) -> int:
    """Delete drafts nobody typed into for ``KEEP``, and posted marks as old; returns how many drafts."""
    cutoff = (now or timezone.now()) - KEEP
    deleted, _ = Draft.objects.filter(updated_at__lt=cutoff).delete()
    PostedDraft.objects.filter(posted_at__lt=cutoff).delete()
    return deleted


def posted(request: HttpRequest, response: Response) -> Response:
    """Tell the browser, and the member's copy here, that the draft this POST was typed in is now a post.

    Returns ``response``. The post is already written: a database error here is
    logged, never turned into an error page for a post that succeeded.
    """
    key = request.POST.get(FIELD, "")
    if not KEY.match(key):
        return response
    if request.user.is_authenticated:
        try:
            forget(request.user, key)
        except DatabaseError:
            log.exception("could not end the server's draft %s of member %s", key, request.user.pk)
    earlier = [k for k in request.COOKIES.get(COOKIE, "").split(".") if KEY.match(k) and k != key]
    response.set_cookie(
        COOKIE,
        ".".join([*earlier[-(MAX_KEYS - 1) :], key]),
        max_age=MAX_AGE,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=False,  # site.js reads it: it names only a form's key, never its text
        samesite="Lax",
    )
    return response
