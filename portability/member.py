"""A member's own data as a zip: ``data.json`` plus ``files/`` with what they uploaded.

Everything the person wrote is theirs, wherever they wrote it: private
communities included, hidden posts included, deleted posts with their text
unless it has already been purged. Each section is one query (plus one per
prefetch), so the cost does not grow with the number of posts; the zip is
written to a temporary file and streamed from disk, so memory stays flat.

Places the person can no longer see (a private community they left or were
banned from, a thread moved into one) are named neutrally, never by their
current names, which may have changed since. Their own words there are as
they left them: a post, or a thread's title, edited by someone else after
the person's last edit is exported as it stood before that edit (the
revision history holds it), and a resource changed since they left is
listed without its content. Commitments ("I'll try this", with the private
note only the person saw) and value notes are theirs too; the resources and
threads they are about are named only where the person still sees them.
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
from bookmarks.models import Bookmark
from communities import policy
from communities.models import Community, Membership
from core.models import Draft
from discussions.models import Flag, Post, Reaction, Revision, Thread
from events.models import RSVP, Event
from practice.models import Commitment, ReportBack
from resources.files import safe_display_name
from resources.models import Resource, ResourceReaction
from value.models import ValueNote

FORMAT = "copsite-member-data"
VERSION = 2  # 2: commitments (with report-backs) and value notes


# What the export calls places the person can no longer see.
UNSEEN_COMMUNITY = "a private community"
UNSEEN_THREAD = "a thread you can no longer see"
UNSEEN_EVENT = "an event you can no longer see"
UNSEEN_RESOURCE = "a resource changed after you left"
UNSEEN_RESOURCE_OF_OTHERS = "a resource you can no longer see"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


class Sight:
    """What the person may see now, asked of policy with their memberships loaded once.

    Every community is one instance here, its membership cached in it, so asking
    policy about each row costs no query however many rows there are.
    """

    def __init__(self, user: User) -> None:
        self.user = user
        self.memberships = list(
            Membership.objects.filter(user=user).select_related("community").order_by("community__slug")
        )
        self._communities: dict[int, Community] = {}
        for membership in self.memberships:
            policy.remember_membership(user, membership.community, membership)
            self._communities[membership.community_id] = membership.community
        self.left_at = {m.community_id: m.left_at for m in self.memberships}

    def community(self, community: Community) -> Community:
        known = self._communities.get(community.pk)
        if known is None:
            # Every membership row of the person is loaded above: none here means none at all.
            policy.remember_membership(self.user, community, None)
            known = self._communities[community.pk] = community
        return known

    def sees_community(self, community: Community) -> bool:
        return policy.can_view_community(self.user, self.community(community))

    def sees_thread(self, thread: Thread) -> bool:
        thread.community = self.community(thread.community)
        return policy.can_view_thread(self.user, thread)

    def sees_event(self, event: Event) -> bool:
        event.community = self.community(event.community)
        return policy.can_view_event(self.user, event)

    def slug(self, community: Community) -> str:
        return community.slug if self.sees_community(community) else UNSEEN_COMMUNITY

    def name(self, community: Community) -> str:
        return community.name if self.sees_community(community) else UNSEEN_COMMUNITY


class History:
    """The revisions of the person's posts, and each post as the person last left it."""

    def __init__(self, user: User) -> None:
        self.by_post: dict[int, list[Revision]] = {}
        for revision in Revision.objects.filter(post__author=user).order_by("post_id", "created_at", "pk"):
            self.by_post.setdefault(revision.post_id, []).append(revision)

    def as_left(self, post: Post) -> tuple[str, str, list[Revision]]:
        """Body and title after the author's own last edit, and the revisions up to that edit.

        A revision holds the text before an edit; the first edit by someone else
        after the author's last one therefore holds what the author left.
        """
        history = self.by_post.get(post.pk, [])
        own = [r.created_at for r in history if r.editor_id == post.author_id]
        last_own = max(own, default=post.created_at)
        later = [r for r in history if r.created_at > last_own]
        earlier = [r for r in history if r.created_at <= last_own]
        if later:
            return later[0].body, later[0].title, earlier
        return post.body, post.thread.title if post.is_opening else "", earlier


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
            "email_paused_until": _iso(user.email_paused_until),
            "email_paused_reason": user.email_paused_reason,
            "notifications_emailed_at_once": list(user.email_notifications or []),
        },
    }


def memberships(sight: Sight) -> list[dict]:
    return [
        {
            "community": sight.slug(m.community),
            "community_name": sight.name(m.community),
            "role": m.role,
            "state": m.state,
            "joined_at": _iso(m.joined_at),
            "left_at": _iso(m.left_at),
            "digest_cadence": m.digest_cadence or "community default",
            "participation_level": m.level,
            "watching_level": m.watch_level or f"{m.effective_watch_level} (your role's default)",
        }
        for m in sight.memberships
    ]


def threads(sight: Sight, titles_as_left: dict[int, str]) -> list[dict]:
    rows = (
        Thread.objects.filter(author=sight.user)
        .select_related("community")
        .prefetch_related("tags")  # type: ignore[misc]  # taggit's manager; django-stubs' plugin knows Django's relations only
        .order_by("created_at", "pk")
    )
    entries = []
    for t in rows:
        seen = sight.sees_thread(t)
        left = titles_as_left.get(t.opening_post_id, UNSEEN_THREAD) if t.opening_post_id else UNSEEN_THREAD
        entries.append(
            {
                "id": t.pk,
                "community": sight.slug(t.community),
                # Out of sight: the title as the person left it, not as it may read now.
                "title": t.title if seen else left,
                "kind": t.kind,
                "created_at": _iso(t.created_at),
                "tags": sorted(tag.name for tag in t.tags.all()),
                "opening_post": t.opening_post_id,
            }
        )
    return entries


def posts(sight: Sight, history: History) -> tuple[list[dict], list[dict], dict[int, str]]:
    """The person's posts, the revisions of them they may have, and the titles they left on their threads."""
    rows = Post.objects.filter(author=sight.user).select_related("thread__community").order_by("created_at", "pk")
    entries, kept, titles_as_left = [], [], {}
    for p in rows:
        if sight.sees_thread(p.thread):
            body, thread_title, earlier = p.body, p.thread.title, history.by_post.get(p.pk, [])
        else:
            body, title_as_left, earlier = history.as_left(p)
            if p.is_opening:
                titles_as_left[p.pk] = title_as_left
            thread_title = title_as_left if p.is_opening else UNSEEN_THREAD
        kept += earlier
        entries.append(
            {
                "id": p.pk,
                "thread": p.thread_id,
                "thread_title": thread_title,
                "community": sight.slug(p.thread.community),
                "in_reply_to": p.parent_id,
                "opening_post": p.is_opening,
                "body_markdown": body,
                "created_at": _iso(p.created_at),
                "edited_at": _iso(p.edited_at),
                "helpful_count": p.helpful_count,
                # visible, held (for review), hidden (by a facilitator) or deleted, and since when
                "state": p.state,
                "state_changed_at": _iso(p.state_changed_at),
                "hidden_reason": p.hidden_reason,
                "content_purged": p.is_deleted and p.body == "",
            }
        )
    return entries, revisions(kept), titles_as_left


def revisions(rows: list[Revision]) -> list[dict]:
    rows = sorted(rows, key=lambda r: (r.post_id, r.created_at, r.pk))
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


def bookmarks(user: User) -> list[dict]:
    # As reactions: ids and times, and the person's own note; the posts are other people's words.
    rows = Bookmark.objects.filter(user=user).select_related("post").order_by("created_at", "pk")
    return [
        {
            "post": b.post_id,
            "thread": b.post.thread_id,
            "note": b.note,
            "created_at": _iso(b.created_at),
            "remind_at": _iso(b.remind_at),
            "reminded_at": _iso(b.reminded_at),
        }
        for b in rows
    ]


def drafts(user: User) -> list[dict]:
    # What they typed and have not posted (core/drafts.py): the form's key and its fields, as kept.
    rows = Draft.objects.filter(user=user).order_by("updated_at", "pk")
    return [{"form": d.key, "fields": d.fields, "updated_at": _iso(d.updated_at)} for d in rows]


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


def rsvps(sight: Sight) -> list[dict]:
    rows = RSVP.objects.filter(user=sight.user).select_related("event__community").order_by("event__starts_at", "pk")
    return [
        {
            "event": r.event_id,
            "title": r.event.title if sight.sees_event(r.event) else UNSEEN_EVENT,
            "community": sight.slug(r.event.community),
            "starts_at": _iso(r.event.starts_at),
            "answer": r.answer,
            "answered_at": _iso(r.answered_at),
        }
        for r in rows
    ]


def _resource_file_path(resource: Resource) -> str:
    """Where the upload sits in the zip: a folder per resource, so equal names never clash."""
    return f"files/resource-{resource.pk}/{safe_display_name(resource.file_name or resource.file.name)}"


def resources(sight: Sight) -> list[dict]:
    rows = (
        Resource.objects.filter(added_by=sight.user)
        .select_related("community")
        .prefetch_related("tags")  # type: ignore[misc]  # taggit's manager; django-stubs' plugin knows Django's relations only
        .order_by("created_at", "pk")
    )
    return [_resource_entry(sight, r) for r in rows]


def _resource_entry(sight: Sight, r: Resource) -> dict:
    if not sight.sees_community(r.community):
        left_at = sight.left_at.get(r.community_id)
        if left_at is None or r.updated_at > left_at:
            # Edited (maybe by a facilitator) after the person left: no longer only their words,
            # and resources keep no history to go back to. Only that it was theirs.
            return {
                "id": r.pk,
                "community": UNSEEN_COMMUNITY,
                "title": UNSEEN_RESOURCE,
                "created_at": _iso(r.created_at),
                "file": None,
            }
    return {
        "id": r.pk,
        "community": sight.slug(r.community),
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


def commitments(sight: Sight) -> list[dict]:
    """What the person said they'd try (with their private note), the asks and what they reported back."""
    rows = (
        Commitment.objects.filter(user=sight.user)
        .select_related("resource__community", "report")
        .order_by("created_at", "pk")
    )
    entries = []
    for c in rows:
        resource = c.resource
        seen = sight.sees_community(resource.community)
        report = getattr(c, "report", None)
        entries.append(
            {
                "resource": resource.pk,
                # Someone else's resource: named only where the person still sees it.
                "resource_title": resource.title if seen else UNSEEN_RESOURCE_OF_OTHERS,
                "community": sight.slug(resource.community),
                "note": c.note,
                "try_by": c.try_by.isoformat() if c.try_by else None,
                "created_at": _iso(c.created_at),
                "times_asked": c.asked_count,
                "last_asked_at": _iso(c.last_asked_at),
                "report_back": None
                if report is None
                else {
                    "outcome": report.outcome,
                    "outcome_label": str(ReportBack.Outcome(report.outcome).label),
                    "story": report.story,
                    "post": report.post_id,
                    "created_at": _iso(report.created_at),
                },
            }
        )
    return entries


def value_notes(sight: Sight) -> list[dict]:
    """The person's value notes, each with what it is about (by id; titles where they still see it)."""
    rows = (
        ValueNote.objects.filter(author=sight.user)
        .select_related("community", "thread", "resource")
        .order_by("created_at", "pk")
    )
    entries = []
    for n in rows:
        kind = n.item_kind
        if n.thread is not None:
            n.thread.community = n.community  # the same community: no query
            seen = sight.sees_thread(n.thread)
        else:
            seen = sight.sees_community(n.community)
        entries.append(
            {
                "community": sight.slug(n.community),
                "about": kind,
                "thread": n.thread_id,
                "post": n.post_id,
                "resource": n.resource_id,
                "title": n.item_title if seen else UNSEEN_THREAD if kind != "resource" else UNSEEN_RESOURCE_OF_OTHERS,
                "cycle": n.cycle,
                "text": n.text,
                "measure": n.measure,
                "share_in_digest": n.share_in_digest,
                "created_at": _iso(n.created_at),
            }
        )
    return entries


def collect(user: User) -> dict:
    """Everything in ``data.json``, in the order a person would read it."""
    sight = Sight(user)
    written, kept_revisions, titles_as_left = posts(sight, History(user))
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": _iso(timezone.now()),
        "profile": profile(user),
        "memberships": memberships(sight),
        "threads_started": threads(sight, titles_as_left),
        "posts": written,
        "revisions_of_my_posts": kept_revisions,
        "reactions_given": reactions(user),
        "bookmarks": bookmarks(user),
        "drafts": drafts(user),
        "flags_filed": flags(user),
        "rsvps": rsvps(sight),
        "resources_shared": resources(sight),
        "commitments": commitments(sight),
        "value_notes": value_notes(sight),
    }


def write_zip(user: User, out: IO[bytes]) -> None:
    """Write the person's zip into ``out``; files are copied from storage in chunks."""
    data = collect(user)
    shared = {entry["id"] for entry in data["resources_shared"] if entry["file"]}
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("data.json", json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2))
        for resource in Resource.objects.filter(pk__in=shared).order_by("pk"):
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
