"""A community as a portable zip: export for facilitators, restore for site admins.

The zip holds ``community.json`` and ``files/`` (resource uploads and their
earlier versions). The format is versioned (``"format": "copsite-community",
"version": 2``; version 1 files, written before the repertoire's status,
reviews, file versions, thread links, the practice loop and value notes, still
restore; recurring events' rules, ``event_series``, joined version 2 as an
optional key, so a version 2 file without it restores its events as single
ones) and self-contained: people are referenced by username with their display name,
never by email address, so an export shares nothing about members that the
community's own pages don't show. Objects carry keys made from their order
(``t3``, ``t3.p12``, ``r2``, ``e1``), not database ids, so exporting a
restored community yields the same document, byte for byte, as the original.

Restore trusts nothing in the file: names in the zip are checked before
anything is read, markdown is rendered again through ``core.markup``
(the HTML in the file is ignored), uploads pass the same content checks as
a fresh upload, and everything is written in one transaction (uploaded files
are removed again if it rolls back).

This module reads and writes the apps built on ``communities``
(discussions, resources, events, practice, value): it is the one place that
sees the whole community. A commitment's private note is the committer's
alone: it is in their own download, never in a community export.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import uuid
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from pathlib import Path, PurePosixPath
from typing import IO, Any, overload

from django.conf import settings
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from accounts.models import User
from communities import audit
from communities.models import Community, Membership, Subgroup, SubgroupMembership
from core import pagecache
from core.markup import RENDER_VERSION, MarkupError, render_markdown
from core.search import update_vector
from discussions.models import Post, Reaction, Revision, Thread, path_segment
from discussions.services import render_post
from events.models import RSVP, Event, EventQuestion, EventSeries
from practice.models import Commitment, LoopSetting, ReportBack
from resources.files import CheckedFile, check_upload, make_preview, safe_display_name
from resources.models import Resource, ResourceFileVersion, ResourceReaction, ResourceReview, ResourceThread
from resources.services import index_resource
from resources.services import render_fields as render_resource_fields
from value.models import MEASURE_MAX, TEXT_MAX, ValueNote

FORMAT = "copsite-community"
VERSION = 2
# Earlier versions restore too: what they lack takes the value a fresh install would give it.
READABLE_VERSIONS = (1, 2)
MANIFEST = "community.json"
COPY_CHUNK = 1024 * 1024
# community.json is read whole; its declared size is checked first, so a zip bomb is refused unread.
MAX_MANIFEST_BYTES = 512 * 1024 * 1024


class RestoreError(Exception):
    """The zip can't be restored; the message says why, for the admin running the command."""


# --- Export ------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


class _People:
    """Collects every person the export mentions, by username."""

    def __init__(self) -> None:
        self.seen: dict[str, dict] = {}

    def key(self, user: User | None) -> str | None:
        if user is None:
            return None
        if user.username not in self.seen:
            self.seen[user.username] = {
                "key": user.username,
                "display_name": user.display_name,
                "former_member": user.deleted_at is not None,
            }
        return user.username

    def listed(self) -> list[dict]:
        return [self.seen[k] for k in sorted(self.seen)]


def _sha256(field) -> str:
    digest = hashlib.sha256()
    with field.open("rb") as handle:
        for chunk in iter(lambda: handle.read(COPY_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _access(visibility: str, join_policy: str) -> dict[str, str]:
    """Visibility and join policy as this copsite names them: exports made before graded
    visibility say "public" (now open), and a private community asked to be joined on request
    (now by invitation only, as the 0007_graded_visibility migration moved stored ones)."""
    if visibility == "public":
        visibility = Community.Visibility.OPEN
    if visibility == Community.Visibility.PRIVATE:
        join_policy = Community.JoinPolicy.INVITE
    return {"visibility": visibility, "join_policy": join_policy}


def collect(community: Community) -> tuple[dict, list[tuple[str, Any]]]:
    """The document and the files to add: ``[(path in zip, FieldFile)]``. Query count is fixed."""
    people = _People()
    threads, thread_keys, post_keys = _export_threads(community, people)
    resources, files, resource_keys = _export_resources(community, people, thread_keys, post_keys)
    series, series_keys = _export_series(community, people)
    document = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": _iso(timezone.now()),
        "community": {
            "name": community.name,
            "slug": community.slug,
            "domain": community.domain,
            "description": community.description,
            "description_html": community.description_html,
            "visibility": community.visibility,
            "join_policy": community.join_policy,
            "default_cadence": community.default_cadence,
            "created_by": people.key(community.created_by),
            "created_at": _iso(community.created_at),
            "last_activity_at": _iso(community.last_activity_at),
            # None: the community never chose, and asks after the default.
            "ask_after_days": LoopSetting.objects.filter(community=community)
            .values_list("ask_after_days", flat=True)
            .first(),
        },
        "members": _export_members(community, people),
        "subgroups": _export_subgroups(community, people),
        "threads": threads,
        "resources": resources,
        "event_series": series,
        "events": _export_events(community, people, thread_keys, post_keys, series_keys),
        "value_notes": _export_value_notes(community, people, thread_keys, post_keys, resource_keys),
    }
    document["people"] = people.listed()
    return document, files


def _export_members(community: Community, people: _People) -> list[dict]:
    rows = Membership.objects.filter(community=community).select_related("user").order_by("user__username")
    return [
        {
            "person": people.key(m.user),
            "role": m.role,
            "state": m.state,
            "joined_at": _iso(m.joined_at),
            "left_at": _iso(m.left_at),
        }
        for m in rows
    ]


def _export_subgroups(community: Community, people: _People) -> list[dict]:
    """Subgroups with their members: restored, their threads stay as private as they were."""
    rows = Subgroup.objects.filter(community=community).prefetch_related("memberships__user").order_by("slug")
    return [
        {
            "name": group.name,
            "slug": group.slug,
            "description": group.description,
            "members": sorted(people.key(m.user) for m in group.memberships.all()),
        }
        for group in rows
    ]


def _export_threads(community: Community, people: _People) -> tuple[list[dict], dict[int, str], dict[int, str]]:
    threads = list(
        Thread.objects.filter(community=community)
        .select_related("author", "last_poster", "subgroup")
        .prefetch_related("tags")  # type: ignore[misc]  # taggit's manager; django-stubs' plugin knows Django's relations only
        .order_by("created_at", "pk")
    )
    thread_keys = {t.pk: f"t{i}" for i, t in enumerate(threads, 1)}
    posts_by_thread: dict[int, list[Post]] = defaultdict(list)
    for post in (
        Post.objects.filter(thread__community=community)
        .select_related("author", "hidden_by")
        .order_by("thread_id", "path")
    ):
        posts_by_thread[post.thread_id].append(post)
    post_keys = {
        post.pk: f"{thread_keys[tid]}.p{i}" for tid, posts in posts_by_thread.items() for i, post in enumerate(posts, 1)
    }
    revisions: dict[int, list[dict]] = defaultdict(list)
    for rev in (
        Revision.objects.filter(post__thread__community=community)
        .select_related("editor")
        .order_by("post_id", "created_at", "pk")
    ):
        revisions[rev.post_id].append(
            {"editor": people.key(rev.editor), "created_at": _iso(rev.created_at), "title": rev.title, "body": rev.body}
        )
    reactions: dict[int, list[dict]] = defaultdict(list)
    for reaction in (
        Reaction.objects.filter(post__thread__community=community)
        .select_related("user")
        .order_by("post_id", "user__username", "kind")
    ):
        reactions[reaction.post_id].append(
            {"person": people.key(reaction.user), "kind": reaction.kind, "created_at": _iso(reaction.created_at)}
        )
    exported = []
    for thread in threads:
        exported.append(
            {
                "key": thread_keys[thread.pk],
                "title": thread.title,
                "kind": thread.kind,
                "author": people.key(thread.author),
                "created_at": _iso(thread.created_at),
                "pinned": thread.pinned,
                "pinned_at": _iso(thread.pinned_at),
                "locked_at": _iso(thread.locked_at),
                "held_at": _iso(thread.held_at),
                "subgroup": thread.subgroup.slug if thread.subgroup else None,
                "last_activity_at": _iso(thread.last_activity_at),
                "last_poster": people.key(thread.last_poster),
                "tags": sorted(tag.name for tag in thread.tags.all()),
                "accepted_answer": post_keys.get(thread.accepted_answer_id) if thread.accepted_answer_id else None,
                "posts": [
                    _export_post(post, post_keys, people, revisions[post.pk], reactions[post.pk])
                    for post in posts_by_thread[thread.pk]
                ],
            }
        )
    return exported, thread_keys, post_keys


def _state_times(post: Post) -> dict:
    """The post's state as format 1 writes it: a time per state (a held post is hidden too)."""
    at = _iso(post.state_changed_at)
    return {
        "hidden_at": at if post.is_hidden else None,
        "held_at": at if post.is_held else None,
        "deleted_at": at if post.is_deleted else None,
    }


def _state_from(p: dict) -> tuple[str, datetime | None]:
    """Format 1's times back into one state, the most final first."""
    for key, state in (
        ("deleted_at", Post.State.DELETED),
        ("held_at", Post.State.HELD),
        ("hidden_at", Post.State.HIDDEN),
    ):
        if p.get(key):
            return state, _when(p[key])
    return Post.State.VISIBLE, None


def _export_post(post: Post, post_keys: dict, people: _People, revisions: list, reactions: list) -> dict:
    return {
        "key": post_keys[post.pk],
        "number": post.number,
        "parent": post_keys.get(post.parent_id),
        "author": people.key(post.author),
        "body": post.body,
        "body_html": post.body_html,
        "created_at": _iso(post.created_at),
        "edited_at": _iso(post.edited_at),
        "edit_count": post.edit_count,
        **_state_times(post),
        "hidden_by": people.key(post.hidden_by),
        "hidden_reason": post.hidden_reason,
        "reactions": reactions,
        "revisions": revisions,
    }


def _export_resources(
    community: Community, people: _People, thread_keys: dict, post_keys: dict
) -> tuple[list[dict], list, dict[int, str]]:
    rows = list(
        Resource.objects.filter(community=community)
        .select_related("added_by", "owner", "endorsed_by")
        .prefetch_related("tags")  # type: ignore[misc]  # taggit's manager; django-stubs' plugin knows Django's relations only
        .order_by("created_at", "pk")
    )
    keys = {r.pk: f"r{i}" for i, r in enumerate(rows, 1)}
    helpful: dict[int, list[dict]] = defaultdict(list)
    for reaction in (
        ResourceReaction.objects.filter(resource__community=community)
        .select_related("user")
        .order_by("resource_id", "user__username")
    ):
        helpful[reaction.resource_id].append(
            {"person": people.key(reaction.user), "created_at": _iso(reaction.created_at)}
        )
    reviews: dict[int, list[dict]] = defaultdict(list)
    for review in (
        ResourceReview.objects.filter(resource__community=community)
        .select_related("reviewer")
        .order_by("resource_id", "created_at", "pk")
    ):
        reviews[review.resource_id].append(
            {
                "reviewer": people.key(review.reviewer),
                "checked": review.checked,
                "next_review_by": review.next_review_by.isoformat(),
                "created_at": _iso(review.created_at),
            }
        )
    links: dict[int, list[dict]] = defaultdict(list)
    for link in (
        ResourceThread.objects.filter(resource__community=community, thread__community=community)
        .select_related("linked_by")
        .order_by("resource_id", "created_at", "pk")
    ):
        links[link.resource_id].append(
            {
                "thread": thread_keys[link.thread_id],
                "relation": link.relation,
                "linked_by": people.key(link.linked_by),
                "created_at": _iso(link.created_at),
            }
        )
    commitments = _export_commitments(community, people, post_keys)
    files: list = []
    versions: dict[int, list[dict]] = defaultdict(list)
    for version in (
        ResourceFileVersion.objects.filter(resource__community=community)
        .select_related("replaced_by")
        .order_by("resource_id", "replaced_at", "pk")
    ):
        n = len(versions[version.resource_id]) + 1
        path = f"files/{keys[version.resource_id]}/v{n}/{safe_display_name(version.file_name or version.file.name)}"
        files.append((path, version.file))
        versions[version.resource_id].append(
            {
                "path": path,
                "name": version.file_name,
                "type": version.file_type,
                "size": version.file_size,
                "sha256": _sha256(version.file),
                "replaced_by": people.key(version.replaced_by),
                "replaced_at": _iso(version.replaced_at),
            }
        )
    exported = []
    for r in rows:
        key = keys[r.pk]
        file_entry = None
        if r.file:
            path = f"files/{key}/{safe_display_name(r.file_name or r.file.name)}"
            file_entry = {"path": path, "name": r.file_name, "type": r.file_type, "size": r.file_size}
            file_entry["sha256"] = _sha256(r.file)
            files.append((path, r.file))
        exported.append(
            {
                "key": key,
                "kind": r.kind,
                "title": r.title,
                "url": r.url,
                "description": r.description,
                "citation_authors": r.citation_authors,
                "citation_title": r.citation_title,
                "citation_venue": r.citation_venue,
                "citation_year": r.citation_year,
                "citation_link": r.citation_link,
                "summary": r.summary,
                "in_practice": r.in_practice,
                "try_this": r.try_this,
                "tags": sorted(tag.name for tag in r.tags.all()),
                "added_by": people.key(r.added_by),
                "created_at": _iso(r.created_at),
                "updated_at": _iso(r.updated_at),
                "removed_at": _iso(r.removed_at),
                "pin_position": r.pin_position,
                "thread": thread_keys.get(r.thread_id),
                "status": r.status,
                "owner": people.key(r.owner),
                "endorsed_by": people.key(r.endorsed_by),
                "endorsed_at": _iso(r.endorsed_at),
                "superseded_by": keys.get(r.superseded_by_id) if r.superseded_by_id else None,
                "review_by": r.review_by.isoformat() if r.review_by else None,
                "reviews": reviews[r.pk],
                "thread_links": links[r.pk],
                "reactions": helpful[r.pk],
                "file": file_entry,
                "file_versions": versions[r.pk],
                "commitments": commitments[r.pk],
            }
        )
    return exported, files, keys


def _export_commitments(community: Community, people: _People, post_keys: dict) -> dict[int, list[dict]]:
    """Who said they'd try each resource, the asks and the report-back; never the private note."""
    reports = {
        report.commitment_id: report
        for report in ReportBack.objects.filter(resource__community=community).only(
            "commitment_id", "outcome", "story", "post_id", "created_at"
        )
    }
    exported: dict[int, list[dict]] = defaultdict(list)
    for c in (
        Commitment.objects.filter(resource__community=community)
        .select_related("user")
        .order_by("resource_id", "user__username")
    ):
        report = reports.get(c.pk)
        exported[c.resource_id].append(
            {
                "person": people.key(c.user),
                "try_by": c.try_by.isoformat() if c.try_by else None,
                "created_at": _iso(c.created_at),
                "ask_due_at": _iso(c.ask_due_at),
                "asked_count": c.asked_count,
                "last_asked_at": _iso(c.last_asked_at),
                "answered_at": _iso(c.answered_at),
                "report": None
                if report is None
                else {
                    "outcome": report.outcome,
                    "story": report.story,
                    "post": post_keys.get(report.post_id) if report.post_id else None,
                    "created_at": _iso(report.created_at),
                },
            }
        )
    return exported


def _export_value_notes(
    community: Community, people: _People, thread_keys: dict, post_keys: dict, resource_keys: dict
) -> list[dict]:
    notes = ValueNote.objects.filter(community=community).select_related("author").order_by("created_at", "pk")
    return [
        {
            "author": people.key(n.author),
            "thread": thread_keys.get(n.thread_id) if n.thread_id else None,
            "post": post_keys.get(n.post_id) if n.post_id else None,
            "resource": resource_keys.get(n.resource_id) if n.resource_id else None,
            "cycle": n.cycle,
            "text": n.text,
            "measure": n.measure,
            "share_in_digest": n.share_in_digest,
            "created_at": _iso(n.created_at),
        }
        for n in notes
    ]


def _export_series(community: Community, people: _People) -> tuple[list[dict], dict[int, str]]:
    """Recurring events' rules (what the occurrences follow), and each series' key for its occurrences."""
    rows = list(EventSeries.objects.filter(community=community).select_related("created_by").order_by("pk"))
    keys = {s.pk: f"s{i}" for i, s in enumerate(rows, 1)}
    return [
        {
            "key": keys[s.pk],
            "uid": s.uid,
            "sequence": s.sequence,
            "created_by": people.key(s.created_by),
            "created_at": _iso(s.created_at),
            "frequency": s.frequency,
            "interval": s.interval,
            "weekdays": s.weekdays,
            "month_week": s.month_week,
            "start_date": s.start_date.isoformat(),
            "start_time": s.start_time.isoformat(),
            "duration": s.duration,
            "time_zone": s.time_zone,
            "until": s.until.isoformat() if s.until else None,
            "count": s.count,
            "skip_dates": list(s.skip_dates),
            "title": s.title,
            "kind": s.kind,
            "description": s.description,
            "link": s.link,
            "place": s.place,
            "hashtag": s.hashtag,
            "welcome": s.welcome,
            "questions": s.questions,
            "made_until": s.made_until.isoformat() if s.made_until else None,
        }
        for s in rows
    ], keys


def _export_events(
    community: Community, people: _People, thread_keys: dict, post_keys: dict, series_keys: dict[int, str]
) -> list[dict]:
    events = list(
        Event.objects.filter(community=community)
        .select_related("created_by")
        .prefetch_related("hosts")
        .order_by("starts_at", "pk")
    )
    questions: dict[int, list[dict]] = defaultdict(list)
    for q in EventQuestion.objects.filter(event__community=community).order_by("event_id", "position"):
        questions[q.event_id].append(
            {"position": q.position, "text": q.text, "minute": q.minute, "post": post_keys.get(q.post_id)}
        )
    rsvps: dict[int, list[dict]] = defaultdict(list)
    for rsvp in (
        RSVP.objects.filter(event__community=community).select_related("user").order_by("event_id", "user__username")
    ):
        rsvps[rsvp.event_id].append(
            {
                "person": people.key(rsvp.user),
                "answer": rsvp.answer,
                "answered_at": _iso(rsvp.answered_at),
                "reminded_at": _iso(rsvp.reminded_at),
            }
        )
    return [
        {
            "key": f"e{i}",
            "title": e.title,
            "kind": e.kind,
            "description": e.description,
            "starts_at": _iso(e.starts_at),
            "ends_at": _iso(e.ends_at),
            "time_zone": e.time_zone,
            "link": e.link,
            "place": e.place,
            "hashtag": e.hashtag,
            "hosts": sorted(people.key(h) for h in e.hosts.all()),
            "created_by": people.key(e.created_by),
            "created_at": _iso(e.created_at),
            "uid": e.uid,
            "sequence": e.sequence,
            "cancelled_at": _iso(e.cancelled_at),
            "thread": thread_keys.get(e.thread_id),
            "welcome": e.welcome,
            "questions": questions[e.pk],
            "rsvps": rsvps[e.pk],
            "series": series_keys.get(e.series_id) if e.series_id else None,
            "occurrence_date": e.occurrence_date.isoformat() if e.occurrence_date else None,
            "detached": e.detached,
        }
        for i, e in enumerate(events, 1)
    ]


def _authored(value):
    """The document without derived HTML: restore renders it again, and @mentions only
    become links where the mentioned person has an active account in that install."""
    if isinstance(value, dict):
        return {k: _authored(v) for k, v in value.items() if not k.endswith("_html")}
    if isinstance(value, list):
        return [_authored(v) for v in value]
    return value


def content_hash(document: dict) -> str:
    """sha256 of the canonical JSON of everything authored (no export time, no derived HTML).

    Equal before and after a lossless round trip, in the same install or an empty one.
    """
    canonical = _authored({k: v for k, v in document.items() if k != "exported_at"})
    text = json.dumps(canonical, cls=DjangoJSONEncoder, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def write_zip(community: Community, out: IO[bytes]) -> dict:
    """Write the community's zip into ``out`` and return the document."""
    document, files = collect(community)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(MANIFEST, json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2))
        for path, field in files:
            with field.open("rb") as source, zf.open(path, "w") as target:
                shutil.copyfileobj(source, target, COPY_CHUNK)
    return document


def build_zip(community: Community) -> IO[bytes]:
    """The zip in a temporary file (gone when closed), rewound for streaming."""
    out = tempfile.TemporaryFile(suffix=".zip")  # noqa: SIM115 - the response closes it after streaming
    try:
        write_zip(community, out)
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return out


# --- Restore --------------------------------------------------------------------------------


def _safe_member_name(name: str) -> bool:
    """Only ``community.json`` and plain relative paths under ``files/``: no traversal, no absolute paths."""
    if name in (MANIFEST, "files/"):
        return True
    if "\\" in name or "\x00" in name or name.startswith("/") or ":" in name:
        return False
    parts = PurePosixPath(name).parts
    return len(parts) >= 2 and parts[0] == "files" and all(p not in ("", ".", "..") for p in parts)


def read_archive(zf: zipfile.ZipFile) -> dict:
    """Check the zip's names and read its document; RestoreError for anything unexpected."""
    unsafe = [info.filename for info in zf.infolist() if not _safe_member_name(info.filename)]
    if unsafe:
        raise RestoreError(f"The zip contains an unexpected or unsafe name: {unsafe[0]!r}. Nothing was restored.")
    if MANIFEST not in zf.namelist():
        raise RestoreError(f"The zip has no {MANIFEST}: it is not a copsite community export.")
    if zf.getinfo(MANIFEST).file_size > MAX_MANIFEST_BYTES:
        raise RestoreError(f"{MANIFEST} is larger than {MAX_MANIFEST_BYTES // 1_048_576} MB; refusing to read it.")
    try:
        document = json.loads(zf.read(MANIFEST).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RestoreError(f"{MANIFEST} is not valid JSON ({error}).") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise RestoreError(f"{MANIFEST} is not a copsite community export (format should be {FORMAT!r}).")
    if document.get("version") not in READABLE_VERSIONS:
        raise RestoreError(
            f"This export is format version {document.get('version')!r}; this copsite restores version {VERSION}."
        )
    return document


def restore(path_or_file: str | Path | IO[bytes], *, actor: User | None = None) -> Community:
    """Recreate the community in the zip; refuses if its slug is taken. One transaction."""
    try:
        zf = zipfile.ZipFile(path_or_file)
    except (zipfile.BadZipFile, OSError) as error:
        raise RestoreError(f"Not a readable zip file ({error}).") from None
    with zf:
        document = read_archive(zf)
        restorer = _Restorer(zf, document)
        try:
            with transaction.atomic():
                community = restorer.run(actor)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            restorer.discard_files()
            raise RestoreError(
                f"{MANIFEST} is missing or has a malformed field ({error!r}). Nothing was restored."
            ) from None
        except (DatabaseError, ValidationError) as error:
            restorer.discard_files()
            raise RestoreError(
                f"The database refused a value from the export ({error}). Nothing was restored."
            ) from None
        except BaseException:
            restorer.discard_files()
            raise
    return community


def _post_numbers(posts: list[dict]) -> dict[str, int]:
    """Each post's number in its thread (key → 1…n, the opening post 1): as exported, or in the order written.

    An export names them (``number``); one that doesn't, or whose numbers are
    not 1…n with the opening post first, is numbered as the migration numbers
    existing posts: by the time each was written, the opening post first.
    """
    exported = [p.get("number") for p in posts]
    numbers = [n for n in exported if isinstance(n, int) and not isinstance(n, bool)]
    if len(numbers) == len(posts) and sorted(numbers) == list(range(1, len(posts) + 1)) and numbers[0] == 1:
        return {p["key"]: n for p, n in zip(posts, numbers, strict=True)}
    order = [posts[0], *sorted(posts[1:], key=lambda p: _when(p["created_at"]))]
    return {p["key"]: n for n, p in enumerate(order, 1)}


@overload
def _day(value: str) -> date: ...
@overload
def _day(value: str | None) -> date | None: ...
def _day(value: str | None) -> date | None:
    if value is None:
        return None
    parsed = parse_date(value)
    if parsed is None:
        raise ValueError(f"not a date: {value!r}")
    return parsed


@overload
def _when(value: str) -> datetime: ...
@overload
def _when(value: None) -> None: ...
@overload
def _when(value: str | None) -> datetime | None: ...
def _when(value: str | None) -> datetime | None:
    if value is None:
        return None
    parsed = parse_datetime(value)
    if parsed is None:
        raise ValueError(f"not a date and time: {value!r}")
    return parsed


class _Restorer:
    """One restore run: keeps the maps from export keys to new rows."""

    def __init__(self, zf: zipfile.ZipFile, document: dict) -> None:
        self.zf = zf
        self.doc = document
        self.people: dict[str, Any] = {}
        self.threads: dict[str, Thread] = {}
        self.posts: dict[str, Post] = {}
        self.resources: dict[str, Resource] = {}
        self.series: dict[str, EventSeries] = {}
        self.saved_files: list[tuple[Any, str]] = []

    def person(self, key: str | None):
        if key is None:
            return None
        if key not in self.people:
            raise ValueError(f"unknown person {key!r}")
        return self.people[key]

    def run(self, actor: User | None) -> Community:
        data = self.doc["community"]
        if Community.objects.filter(slug=data["slug"]).exists():
            raise RestoreError(
                f"A community with the address “{data['slug']}” already exists here; restore only into an install "
                "without it (or rename or delete that community first)."
            )
        self._people()
        community = self._community(data)
        self._members(community)
        self._subgroups(community)
        for entry in self.doc["threads"]:
            self._thread(community, entry)
        for entry in self.doc["resources"]:
            self._resource(community, entry)
        self._superseded()
        for entry in self.doc.get("event_series", []):  # absent from files written before series existed
            self._series(community, entry)
        for entry in self.doc["events"]:
            self._event(community, entry)
        self._value_notes(community)
        audit.record(community, actor, "community.restore", detail=data["name"])
        pagecache.touched_everything()  # placeholder people and a new community show across the site
        return community

    def _people(self) -> None:
        """Match people by username; create inactive placeholders for the rest (no email, no password)."""
        entries = {p["key"]: p for p in self.doc["people"]}
        validator = UnicodeUsernameValidator()
        for key in entries:
            validator(key)
        existing = {u.username: u for u in User.objects.filter(username__in=list(entries))}
        now = timezone.now()
        for key, entry in entries.items():
            user = existing.get(key)
            if user is None:
                user = User(
                    username=key,
                    email=f"restored-{uuid.uuid4().hex[:16]}@placeholder.invalid",
                    display_name="" if entry.get("former_member") else str(entry.get("display_name", ""))[:80],
                    is_active=False,
                    email_paused=True,
                    deleted_at=now if entry.get("former_member") else None,
                )
                user.set_unusable_password()
                user.save()
            self.people[key] = user

    def _community(self, data: dict) -> Community:
        community = Community(
            name=data["name"],
            slug=data["slug"],
            domain=data["domain"],
            description=data["description"],
            description_html=render_markdown(data["description"]),
            render_version=RENDER_VERSION,
            **_access(data["visibility"], data["join_policy"]),
            default_cadence=data["default_cadence"],
            created_by=self.person(data["created_by"]),
            created_at=_when(data["created_at"]),
            last_activity_at=_when(data["last_activity_at"]),
        )
        community.full_clean()
        community.save()
        ask_after = data.get("ask_after_days")  # version 1: the default
        if ask_after is not None:
            LoopSetting.objects.create(community=community, ask_after_days=int(ask_after))
        return community

    def _members(self, community: Community) -> None:
        rows = [
            Membership(
                community=community,
                user=self.person(m["person"]),
                role=Membership.Role(m["role"]),
                state=Membership.State(m["state"]),
                joined_at=_when(m["joined_at"]),
                left_at=_when(m["left_at"]),
            )
            for m in self.doc["members"]
        ]
        Membership.objects.bulk_create(rows)
        active = sum(1 for m in rows if m.state == Membership.State.ACTIVE)
        Community.objects.filter(pk=community.pk).update(member_count=active)

    def _subgroups(self, community: Community) -> None:
        """Exports without subgroups (older files) have none to restore."""
        self.subgroups: dict[str, Subgroup] = {}
        for entry in self.doc.get("subgroups") or []:
            group = Subgroup.objects.create(
                community=community, name=entry["name"], slug=entry["slug"], description=entry.get("description", "")
            )
            self.subgroups[group.slug] = group
            people = {self.person(key) for key in entry.get("members") or []}
            SubgroupMembership.objects.bulk_create(
                [SubgroupMembership(subgroup=group, user=person) for person in people if person is not None]
            )

    def _thread(self, community: Community, entry: dict) -> None:
        posts = entry["posts"]
        subgroup_slug = entry.get("subgroup")
        if subgroup_slug is not None and subgroup_slug not in self.subgroups:
            # Restored without its subgroup, the thread would be open to the whole community.
            raise ValueError(f"thread {entry['key']} names a subgroup the file does not have")
        if not posts or posts[0]["parent"] is not None or any(p["parent"] is None for p in posts[1:]):
            raise ValueError(f"thread {entry['key']} must start with its one opening post")
        thread = Thread.objects.create(
            community=community,
            title=entry["title"],
            kind=Thread.Kind(entry["kind"]),
            author=self.person(entry["author"]),
            created_at=_when(entry["created_at"]),
            pinned=bool(entry["pinned"]),
            pinned_at=_when(entry["pinned_at"]),
            locked_at=_when(entry["locked_at"]),
            held_at=_when(entry["held_at"]),
            subgroup=self.subgroups.get(subgroup_slug) if subgroup_slug is not None else None,
            last_activity_at=_when(entry["last_activity_at"]),
            last_poster=self.person(entry["last_poster"]),
            reply_count=len(posts) - 1,
            highest_post_number=len(posts),
        )
        self.threads[entry["key"]] = thread
        numbers = _post_numbers(posts)
        children: defaultdict[str, int] = defaultdict(int)
        for p in posts:
            if p["parent"] is not None:
                children[p["parent"]] += 1
        placed: dict[str, int] = defaultdict(int)
        for p in posts:
            self._post(thread, p, numbers[p["key"]], children[p["key"]], placed)
        opening = self.posts[posts[0]["key"]]
        thread.opening_post = opening
        accepted = entry["accepted_answer"]
        thread.accepted_answer = self.posts[accepted] if accepted else None
        thread.save(update_fields=["opening_post", "accepted_answer"])
        if entry["tags"]:
            thread.tags.set(entry["tags"])
        if thread.held_at is None:  # a held thread is indexed when a facilitator approves it
            visible = opening.state == Post.State.VISIBLE
            text = opening.body_text if visible else ""
            update_vector(Thread.objects.filter(pk=thread.pk), {"A": thread.title, "B": text})

    def _post(self, thread: Thread, p: dict, number: int, child_count: int, placed: dict[str, int]) -> None:
        parent_key = p["parent"]
        if parent_key is None:
            parent, depth, path = None, 0, ""
        else:
            parent = self.posts.get(parent_key)
            if parent is None or parent.thread_id != thread.pk:
                raise ValueError(
                    f"post {p['key']} replies to {parent_key!r}, which does not come before it in its thread"
                )
            placed[parent_key] += 1
            depth, path = parent.depth + 1, parent.path + path_segment(placed[parent_key])
        try:
            rendered = render_post(p["body"])
        except MarkupError as error:
            raise ValueError(f"post {p['key']}: {error}") from None
        reactions = p["reactions"]
        state, state_changed_at = _state_from(p)
        post = Post.objects.create(
            thread=thread,
            author=self.person(p["author"]),
            parent=parent,
            depth=depth,
            path=path,
            number=number,
            child_count=child_count,
            body=p["body"],
            body_html=rendered.html,
            body_text=rendered.text,
            render_version=RENDER_VERSION,
            created_at=_when(p["created_at"]),
            edited_at=_when(p["edited_at"]),
            edit_count=int(p["edit_count"]),
            helpful_count=sum(1 for r in reactions if r["kind"] == Reaction.Kind.HELPFUL),
            state=state,
            state_changed_at=state_changed_at,
            hidden_by=self.person(p["hidden_by"]),
            hidden_reason=p["hidden_reason"],
        )
        self.posts[p["key"]] = post
        if depth > 0:
            visible = post.state == Post.State.VISIBLE
            update_vector(Post.objects.filter(pk=post.pk), {"B": rendered.text if visible else ""})
        Revision.objects.bulk_create(
            [
                Revision(
                    post=post,
                    editor=self.person(r["editor"]),
                    created_at=_when(r["created_at"]),
                    title=r["title"],
                    body=r["body"],
                )
                for r in p["revisions"]
            ]
        )
        Reaction.objects.bulk_create(
            [
                Reaction(
                    post=post,
                    user=self.person(r["person"]),
                    kind=Reaction.Kind(r["kind"]),
                    created_at=_when(r["created_at"]),
                )
                for r in reactions
            ]
        )

    def _resource(self, community: Community, entry: dict) -> None:
        fields = {
            name: entry[name]
            for name in (
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
                "pin_position",
            )
        }
        added_by = self.person(entry["added_by"])
        # Version 1 knew no status, owner, endorsement or review: published, owned by its creator.
        owner = self.person(entry["owner"]) if "owner" in entry else added_by
        resource = Resource(
            community=community,
            kind=Resource.Kind(entry["kind"]),
            try_this=entry.get("try_this", ""),
            added_by=added_by,
            owner=owner,
            status=Resource.Status(entry.get("status", Resource.Status.PUBLISHED)),
            endorsed_by=self.person(entry.get("endorsed_by")),
            endorsed_at=_when(entry.get("endorsed_at")),
            review_by=_day(entry.get("review_by")),
            created_at=_when(entry["created_at"]),
            updated_at=_when(entry["updated_at"]),
            removed_at=_when(entry["removed_at"]),
            thread=self.threads[entry["thread"]] if entry["thread"] else None,
            helpful_count=len(entry["reactions"]),
            **fields,
        )
        if entry["file"]:
            self._attach(resource, entry["file"])
        render_resource_fields(resource)
        resource.save()
        self.resources[entry["key"]] = resource
        if entry["tags"]:
            resource.tags.set(entry["tags"])
        index_resource(resource)
        ResourceReaction.objects.bulk_create(
            [
                ResourceReaction(resource=resource, user=self.person(r["person"]), created_at=_when(r["created_at"]))
                for r in entry["reactions"]
            ]
        )
        ResourceReview.objects.bulk_create(
            [
                ResourceReview(
                    resource=resource,
                    reviewer=self.person(r["reviewer"]),
                    checked=r["checked"],
                    next_review_by=_day(r["next_review_by"]),
                    created_at=_when(r["created_at"]),
                )
                for r in entry.get("reviews", [])
            ]
        )
        ResourceThread.objects.bulk_create(
            [
                ResourceThread(
                    resource=resource,
                    thread=self.threads[link["thread"]],
                    relation=ResourceThread.Relation(link["relation"]),
                    linked_by=self.person(link["linked_by"]),
                    created_at=_when(link["created_at"]),
                )
                for link in entry.get("thread_links", [])
            ]
        )
        for version in entry.get("file_versions", []):
            self._file_version(resource, version)
        for commitment in entry.get("commitments", []):
            self._commitment(resource, commitment)

    def _file_version(self, resource: Resource, entry: dict) -> None:
        row = ResourceFileVersion(
            resource=resource,
            file_name=entry["name"],
            replaced_by=self.person(entry["replaced_by"]),
            replaced_at=_when(entry["replaced_at"]),
        )
        with self._upload(entry) as (upload, checked):
            row.file.save(f"{uuid.uuid4().hex}.{checked.extension}", upload, save=False)
            self.saved_files.append((row.file.storage, row.file.name))
            row.file_type, row.file_size = checked.mime, checked.size
        row.save()

    def _commitment(self, resource: Resource, entry: dict) -> None:
        commitment = Commitment.objects.create(
            resource=resource,
            user=self.person(entry["person"]),
            try_by=_day(entry["try_by"]),
            created_at=_when(entry["created_at"]),
            ask_due_at=_when(entry["ask_due_at"]),
            asked_count=int(entry["asked_count"]),
            last_asked_at=_when(entry["last_asked_at"]),
            answered_at=_when(entry["answered_at"]),
        )
        report = entry["report"]
        if report is not None:
            ReportBack.objects.create(
                commitment=commitment,
                resource=resource,
                user=commitment.user,
                outcome=ReportBack.Outcome(report["outcome"]),
                story=report["story"],
                post=self.posts[report["post"]] if report["post"] else None,
                created_at=_when(report["created_at"]),
            )

    def _superseded(self) -> None:
        """A resource replaced by another of the library: linked once every resource exists."""
        for entry in self.doc["resources"]:
            replacement = entry.get("superseded_by")
            if replacement:
                Resource.objects.filter(pk=self.resources[entry["key"]].pk).update(
                    superseded_by=self.resources[replacement]
                )

    def _value_notes(self, community: Community) -> None:
        rows = []
        for n in self.doc.get("value_notes", []):
            cycle = ValueNote.Cycle(n["cycle"])
            text, measure = str(n["text"]), str(n["measure"])
            if not text.strip() or len(text) > TEXT_MAX or len(measure) > MEASURE_MAX:
                raise ValueError(f"a value note needs a text of at most {TEXT_MAX} characters")
            post = self.posts[n["post"]] if n["post"] else None
            thread = self.threads[n["thread"]] if n["thread"] else None
            if post is not None and (thread is None or post.thread_id != thread.pk):
                raise ValueError("a value note on a post names the post's thread")
            rows.append(
                ValueNote(
                    community=community,
                    author=self.person(n["author"]),
                    thread=thread,
                    post=post,
                    resource=self.resources[n["resource"]] if n["resource"] else None,
                    cycle=cycle,
                    text=text,
                    measure=measure,
                    share_in_digest=bool(n["share_in_digest"]),
                    created_at=_when(n["created_at"]),
                )
            )
        ValueNote.objects.bulk_create(rows)

    def _attach(self, resource: Resource, entry: dict) -> None:
        """Copy the upload out of the zip, check it like a fresh upload, and store it under a new name."""
        with self._upload(entry) as (upload, checked):
            resource.file.save(f"{uuid.uuid4().hex}.{checked.extension}", upload, save=False)
            self.saved_files.append((resource.file.storage, resource.file.name))
            resource.file_name, resource.file_type, resource.file_size = entry["name"], checked.mime, checked.size
            if checked.mime.startswith("image/"):
                preview = make_preview(upload)
                if preview is not None:
                    resource.preview.save(preview.name, preview, save=False)
                    self.saved_files.append((resource.preview.storage, resource.preview.name))

    @contextmanager
    def _upload(self, entry: dict) -> Iterator[tuple[File, CheckedFile]]:
        """The file ``entry`` names, out of the zip: its size, checksum and content checked like a fresh upload."""
        path = entry["path"]
        if path not in self.zf.namelist():
            raise RestoreError(f"The export names {path!r} but the zip does not contain it. Nothing was restored.")
        # The declared size bounds what zipfile will inflate: refuse oversized files before copying a byte.
        if self.zf.getinfo(path).file_size > settings.RESOURCE_MAX_UPLOAD_BYTES:
            raise RestoreError(f"{path} is larger than RESOURCE_MAX_UPLOAD_MB allows. Nothing was restored.")
        with tempfile.TemporaryFile() as spool:
            digest = hashlib.sha256()
            with self.zf.open(path) as source:
                for chunk in iter(lambda: source.read(COPY_CHUNK), b""):
                    digest.update(chunk)
                    spool.write(chunk)
            if entry.get("sha256") and digest.hexdigest() != entry["sha256"]:
                raise RestoreError(f"{path} does not match its checksum: the zip is damaged. Nothing was restored.")
            upload = File(spool, name=safe_display_name(entry["name"] or PurePosixPath(path).name))
            upload.size = spool.tell()
            try:
                checked = check_upload(upload)
            except ValidationError as error:
                raise RestoreError(f"{path}: {' '.join(error.messages)} Nothing was restored.") from None
            yield upload, checked

    def _series(self, community: Community, entry: dict) -> None:
        series = EventSeries(
            community=community,
            created_by=self.person(entry["created_by"]),
            created_at=_when(entry["created_at"]),
            uid=entry["uid"],
            sequence=int(entry["sequence"]),
            frequency=EventSeries.Frequency(entry["frequency"]),
            interval=int(entry["interval"]),
            weekdays=entry["weekdays"],
            month_week=entry["month_week"],
            start_date=date.fromisoformat(entry["start_date"]),
            start_time=time.fromisoformat(entry["start_time"]),
            duration=int(entry["duration"]),
            time_zone=entry["time_zone"],
            until=date.fromisoformat(entry["until"]) if entry["until"] else None,
            count=entry["count"],
            skip_dates=[date.fromisoformat(d).isoformat() for d in entry["skip_dates"]],
            title=entry["title"],
            kind=Event.Kind(entry["kind"]),
            description=entry["description"],
            link=entry["link"],
            place=entry["place"],
            hashtag=entry["hashtag"],
            welcome=entry["welcome"],
            questions=entry["questions"],
            made_until=date.fromisoformat(entry["made_until"]) if entry["made_until"] else None,
        )
        if EventSeries.objects.filter(uid=series.uid).exists():
            raise RestoreError(f"A series with the calendar id {series.uid} already exists here. Nothing was restored.")
        series.full_clean(exclude=["community", "created_by"])
        series.save()
        self.series[entry["key"]] = series

    def _event(self, community: Community, entry: dict) -> None:
        event = Event(
            community=community,
            title=entry["title"],
            kind=Event.Kind(entry["kind"]),
            description=entry["description"],
            description_html=render_markdown(entry["description"]),
            render_version=RENDER_VERSION,
            starts_at=_when(entry["starts_at"]),
            ends_at=_when(entry["ends_at"]),
            time_zone=entry["time_zone"],
            link=entry["link"],
            place=entry["place"],
            hashtag=entry["hashtag"],
            created_by=self.person(entry["created_by"]),
            created_at=_when(entry["created_at"]),
            uid=entry["uid"],
            sequence=int(entry["sequence"]),
            cancelled_at=_when(entry["cancelled_at"]),
            thread=self.threads[entry["thread"]] if entry["thread"] else None,
            welcome=entry["welcome"],
            series=self.series[entry["series"]] if entry.get("series") else None,
            occurrence_date=date.fromisoformat(entry["occurrence_date"]) if entry.get("occurrence_date") else None,
            detached=bool(entry.get("detached", False)),
        )
        if Event.objects.filter(uid=event.uid).exists():
            raise RestoreError(f"An event with the calendar id {event.uid} already exists here. Nothing was restored.")
        event.save()
        event.hosts.set([self.person(h) for h in entry["hosts"]])
        EventQuestion.objects.bulk_create(
            [
                EventQuestion(
                    event=event,
                    position=int(q["position"]),
                    text=q["text"],
                    minute=int(q["minute"]),
                    post=self.posts[q["post"]] if q["post"] else None,
                )
                for q in entry["questions"]
            ]
        )
        RSVP.objects.bulk_create(
            [
                RSVP(
                    event=event,
                    user=self.person(r["person"]),
                    answer=RSVP.Answer(r["answer"]),
                    answered_at=_when(r["answered_at"]),
                    reminded_at=_when(r["reminded_at"]),
                )
                for r in entry["rsvps"]
            ]
        )

    def discard_files(self) -> None:
        for storage, name in self.saved_files:
            storage.delete(name)
