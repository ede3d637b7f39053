"""A member's own data as a zip: ``data.json`` plus ``files/`` with what they uploaded.

Everything the person wrote is theirs, wherever they wrote it: private
communities included, hidden posts included, deleted posts with their text
unless it has already been purged. Each section is one query (plus one per
prefetch), so the cost does not grow with the number of posts; the zip is
written to a temporary file and streamed from disk, so memory stays flat.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from datetime import datetime
from typing import IO

from allauth.account.models import EmailAddress
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from accounts.models import User
from communities.models import Membership
from discussions.models import RSVP, Flag, Post, Reaction, Revision, Thread
from resources.files import safe_display_name
from resources.models import Resource, ResourceReaction

FORMAT = "copsite-member-data"
VERSION = 1


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def profile(user: User) -> dict:
    return {
        "username": user.username,
        "email": user.email,
        "email_addresses": [
            {"email": a.email, "verified": a.verified, "primary": a.primary}
            for a in EmailAddress.objects.filter(user=user).order_by("email")
        ],
        "display_name": user.display_name,
        "bio": user.bio,
        "time_zone": user.time_zone,
        "date_joined": _iso(user.date_joined),
        "last_login": _iso(user.last_login),
        "email_preferences": {
            "digest_hour": user.digest_hour,
            "digest_weekday": user.digest_weekday,
            "email_paused": user.email_paused,
            "notifications_emailed_at_once": list(user.email_notifications or []),
        },
    }


def memberships(user: User) -> list[dict]:
    rows = Membership.objects.filter(user=user).select_related("community").order_by("community__slug")
    return [
        {
            "community": m.community.slug,
            "community_name": m.community.name,
            "role": m.role,
            "state": m.state,
            "joined_at": _iso(m.joined_at),
            "left_at": _iso(m.left_at),
            "digest_cadence": m.digest_cadence or "community default",
            "participation_level": m.level,
        }
        for m in rows
    ]


def threads(user: User) -> list[dict]:
    rows = (
        Thread.objects.filter(author=user)
        .select_related("community")
        .prefetch_related("tags")
        .order_by("created_at", "pk")
    )
    return [
        {
            "id": t.pk,
            "community": t.community.slug,
            "title": t.title,
            "kind": t.kind,
            "created_at": _iso(t.created_at),
            "tags": sorted(tag.name for tag in t.tags.all()),
            "opening_post": t.opening_post_id,
        }
        for t in rows
    ]


def posts(user: User) -> list[dict]:
    rows = Post.objects.filter(author=user).select_related("thread__community").order_by("created_at", "pk")
    return [
        {
            "id": p.pk,
            "thread": p.thread_id,
            "thread_title": p.thread.title,
            "community": p.thread.community.slug,
            "in_reply_to": p.parent_id,
            "opening_post": p.is_opening,
            "body_markdown": p.body,
            "created_at": _iso(p.created_at),
            "edited_at": _iso(p.edited_at),
            "helpful_count": p.helpful_count,
            "hidden_at": _iso(p.hidden_at),
            "hidden_reason": p.hidden_reason,
            "held_for_review_at": _iso(p.held_at),
            "deleted_at": _iso(p.deleted_at),
            "content_purged": p.deleted_at is not None and p.body == "",
        }
        for p in rows
    ]


def revisions(user: User) -> list[dict]:
    rows = Revision.objects.filter(post__author=user).order_by("post_id", "created_at", "pk")
    return [
        {"post": r.post_id, "created_at": _iso(r.created_at), "title": r.title, "body_markdown": r.body} for r in rows
    ]


def reactions(user: User) -> list[dict]:
    # Ids and times only: the posts reacted to are other people's words (and maybe
    # in communities the person has since left), so their text is not copied here.
    on_posts = [
        {"post": r.post_id, "thread": r.post.thread_id, "kind": r.kind, "created_at": _iso(r.created_at)}
        for r in Reaction.objects.filter(user=user).select_related("post").order_by("created_at", "pk")
    ]
    on_resources = [
        {"resource": r.resource_id, "kind": "helpful", "created_at": _iso(r.created_at)}
        for r in ResourceReaction.objects.filter(user=user).order_by("created_at", "pk")
    ]
    return on_posts + on_resources


def flags(user: User) -> list[dict]:
    rows = Flag.objects.filter(user=user).order_by("created_at", "pk")
    return [
        {
            "post": f.post_id,
            "reason": f.reason,
            "created_at": _iso(f.created_at),
            "resolved_at": _iso(f.resolved_at),
            "resolution": f.resolution,
        }
        for f in rows
    ]


def rsvps(user: User) -> list[dict]:
    rows = RSVP.objects.filter(user=user).select_related("event__community").order_by("event__starts_at", "pk")
    return [
        {
            "event": r.event_id,
            "title": r.event.title,
            "community": r.event.community.slug,
            "starts_at": _iso(r.event.starts_at),
            "answer": r.answer,
            "answered_at": _iso(r.answered_at),
        }
        for r in rows
    ]


def _resource_file_path(resource: Resource) -> str:
    """Where the upload sits in the zip: a folder per resource, so equal names never clash."""
    return f"files/resource-{resource.pk}/{safe_display_name(resource.file_name or resource.file.name)}"


def resources(user: User) -> list[dict]:
    rows = (
        Resource.objects.filter(added_by=user)
        .select_related("community")
        .prefetch_related("tags")
        .order_by("created_at", "pk")
    )
    return [_resource_entry(r) for r in rows]


def _resource_entry(r: Resource) -> dict:
    return {
        "id": r.pk,
        "community": r.community.slug,
        "kind": r.kind,
        "title": r.title,
        "url": r.url,
        "description_markdown": r.description,
        "citation": {
            "authors": r.citation_authors,
            "title": r.citation_title,
            "venue": r.citation_venue,
            "year": r.citation_year,
            "link": r.citation_link,
        },
        "summary_markdown": r.summary,
        "in_practice_markdown": r.in_practice,
        "tags": sorted(tag.name for tag in r.tags.all()),
        "created_at": _iso(r.created_at),
        "updated_at": _iso(r.updated_at),
        "removed_at": _iso(r.removed_at),
        "file": (
            {"name": r.file_name, "type": r.file_type, "size": r.file_size, "path": _resource_file_path(r)}
            if r.file
            else None
        ),
    }


def collect(user: User) -> dict:
    """Everything in ``data.json``, in the order a person would read it."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": _iso(timezone.now()),
        "profile": profile(user),
        "memberships": memberships(user),
        "threads_started": threads(user),
        "posts": posts(user),
        "revisions_of_my_posts": revisions(user),
        "reactions_given": reactions(user),
        "flags_filed": flags(user),
        "rsvps": rsvps(user),
        "resources_shared": resources(user),
    }


def write_zip(user: User, out: IO[bytes]) -> None:
    """Write the person's zip into ``out``; files are copied from storage in chunks."""
    data = collect(user)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("data.json", json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2))
        for resource in Resource.objects.filter(added_by=user).exclude(file="").order_by("pk"):
            try:
                source = resource.file.open("rb")
            except FileNotFoundError:
                continue  # the row outlived its file (restored backup without media): skip, keep the rest
            with source, zf.open(_resource_file_path(resource), "w") as target:
                shutil.copyfileobj(source, target, 1024 * 1024)


def build_zip(user: User) -> IO[bytes]:
    """The zip in a temporary file (deleted when closed), rewound for streaming."""
    out = tempfile.TemporaryFile(suffix=".zip")  # noqa: SIM115 - the response closes it after streaming
    try:
        write_zip(user, out)
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return out
