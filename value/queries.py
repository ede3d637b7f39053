"""Reads of value notes: on a page (a thread's posts, a resource), in the report, in the digest, on a profile."""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.http import Http404
from django.urls import reverse

from accounts.models import NAME_FIELDS, User, Viewer
from communities import policy
from communities.models import Community
from discussions.models import Post, Thread
from resources.models import Resource
from value.items import Item
from value.models import CYCLE_LABELS, CYCLES, ValueNote

# Author names only: the notes' pages show "Mira Member", nothing else of the person.
_AUTHOR = [f"author__{name}" for name in NAME_FIELDS]
_NOTE = ["id", "community", "thread", "post", "resource", "cycle", "text", "measure", "created_at", "share_in_digest"]


@dataclass
class Grouped:
    """One item's notes by cycle, in the cycles' order, for the templates."""

    by_cycle: list[tuple[str, str, list[ValueNote]]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(len(notes) for _, _, notes in self.by_cycle)


def grouped(notes: list[ValueNote]) -> Grouped:
    buckets: dict[str, list[ValueNote]] = defaultdict(list)
    for note in notes:
        buckets[note.cycle].append(note)
    return Grouped([(cycle, CYCLE_LABELS[cycle], buckets[cycle]) for cycle in CYCLES if buckets[cycle]])


def _with_author(notes: QuerySet[ValueNote]) -> QuerySet[ValueNote]:
    return notes.select_related("author").only(*_NOTE, "author", *_AUTHOR)


def notes_on_posts(thread: Thread, post_ids: list[int], *, with_thread: bool) -> list[ValueNote]:
    """The notes on these posts of ``thread`` (and on the thread itself): one query for the page."""
    where = Q(post_id__in=post_ids)
    if with_thread:
        where |= Q(post__isnull=True)
    return list(_with_author(ValueNote.objects.filter(where, thread_id=thread.pk)))


def notes_on_resource(resource: Resource) -> list[ValueNote]:
    return list(_with_author(ValueNote.objects.filter(resource_id=resource.pk)))


# --- The value report ---------------------------------------------------------

APPLIED_OR_REALISED = ("applied", "realised")


@dataclass
class Month:
    start: datetime.date
    counts: dict[str, int]

    @property
    def label(self) -> str:
        return self.start.strftime("%b %Y")

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class TopItem:
    kind: str  # "thread", "post", "resource"
    title: str
    url: str
    applied: int
    realised: int

    @property
    def total(self) -> int:
        return self.applied + self.realised


@dataclass
class Reporter:
    name: str
    applied: int
    realised: int


@dataclass
class Report:
    community: Community
    months: list[Month]
    top_items: list[TopItem]
    reporters: list[Reporter]
    realised: list[ValueNote]

    @property
    def totals(self) -> dict[str, int]:
        return {cycle: sum(m.counts[cycle] for m in self.months) for cycle in CYCLES}

    @property
    def total(self) -> int:
        return sum(self.totals.values())


def months_back(today: datetime.date, count: int) -> list[datetime.date]:
    """The first days of the ``count`` months ending with ``today``'s, oldest first."""
    year, month = today.year, today.month
    starts = []
    for _ in range(count):
        starts.append(datetime.date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return list(reversed(starts))


def value_report(community: Community, today: datetime.date, *, months: int = 12, top: int = 10) -> Report:
    """The community's notes over the last ``months`` months: four queries whatever the number of notes."""
    starts = months_back(today, months)
    since = datetime.datetime.combine(starts[0], datetime.time.min, tzinfo=datetime.UTC)
    notes = ValueNote.objects.filter(community_id=community.pk, created_at__gte=since).order_by()
    # 1. Notes per cycle per month (served by valuenote_comm_created).
    per_month: dict[datetime.date, dict[str, int]] = {start: dict.fromkeys(CYCLES, 0) for start in starts}
    for row in (
        notes.annotate(month=TruncMonth("created_at", tzinfo=datetime.UTC))
        .values("month", "cycle")
        .annotate(n=Count("id"))
    ):
        month = row["month"].date() if isinstance(row["month"], datetime.datetime) else row["month"]
        if month in per_month and row["cycle"] in per_month[month]:
            per_month[month][row["cycle"]] = row["n"]
    # 2. The items that created the most applied and realised value.
    applied = Count("id", filter=Q(cycle="applied"))
    realised = Count("id", filter=Q(cycle="realised"))
    item_rows = (
        notes.filter(cycle__in=APPLIED_OR_REALISED)
        .values("thread_id", "post_id", "resource_id", "thread__title", "resource__title")
        .annotate(applied=applied, realised=realised, total=Count("id"))
        .order_by("-total", "-realised", "thread_id", "post_id", "resource_id")[:top]
    )
    top_items = [_top_item(community, row) for row in item_rows]
    # 3. The members who reported applied or realised value.
    reporter_rows = (
        notes.filter(cycle__in=APPLIED_OR_REALISED)
        .values("author_id", *_AUTHOR)
        .annotate(applied=applied, realised=realised, total=Count("id"))
        .order_by("-total", "author_id")[:100]
    )
    reporters = [Reporter(_name(row), row["applied"], row["realised"]) for row in reporter_rows]
    # 4. The realised notes themselves: what changed, in the members' words.
    realised_notes = list(
        _with_author(notes.filter(cycle="realised"))
        .select_related("thread", "resource")
        .order_by("-created_at", "-pk")[:50]
    )
    return Report(
        community,
        [Month(start, per_month[start]) for start in starts],
        top_items,
        reporters,
        realised_notes,
    )


def _top_item(community: Community, row: dict[str, Any]) -> TopItem:
    if row["resource_id"] is not None:
        kind, title = "resource", row["resource__title"]
        url = reverse("resources:detail", kwargs={"slug": community.slug, "pk": row["resource_id"]})
    elif row["post_id"] is not None:
        kind, title = "post", f"A reply in “{row['thread__title']}”"
        url = reverse("discussions:post", kwargs={"pk": row["post_id"]})
    else:
        kind, title = "thread", row["thread__title"]
        url = reverse("discussions:thread", kwargs={"slug": community.slug, "pk": row["thread_id"]})
    return TopItem(kind, title or "", url, row["applied"], row["realised"])


def _name(row: dict[str, Any]) -> str:
    """The name pages show (``User.name``), from the columns the aggregate read."""
    return User(**{name: row[f"author__{name}"] for name in NAME_FIELDS}).name


# --- The digest ---------------------------------------------------------------


def shareable_realised(community_ids: list[int], since: datetime.datetime, now: datetime.datetime) -> list[ValueNote]:
    """Realised notes of the period their authors let the digest quote, on items every member sees: one query."""
    return list(
        _with_author(
            ValueNote.objects.filter(
                community_id__in=community_ids,
                cycle="realised",
                share_in_digest=True,
                created_at__gte=since,
                created_at__lt=now,
            )
            # Only on what every member reads: a published thread, a published post, a resource not removed.
            .filter(
                Q(resource__isnull=False, resource__removed_at__isnull=True)
                | Q(
                    Q(post__isnull=True) | policy.published_posts_q("post__"),
                    policy.published_threads_q("thread__"),
                    thread__isnull=False,
                )
            )
        )
        .select_related("thread__community", "resource__community")
        .order_by("created_at", "pk")[:500]
    )


# --- The profile --------------------------------------------------------------


def visible_notes_by(viewer: Viewer, person_id: int, limit: int) -> list[ValueNote]:
    """``person``'s notes on items the viewer may see (threads and posts as pages show them, resources)."""
    on_threads = Q(
        resource__isnull=True,
        thread__in=Thread.objects.visible_to(viewer).values("pk"),
    ) & (Q(post__isnull=True) | Q(post__in=Post.objects.readable_by(viewer).values("pk")))
    on_resources = Q(resource__in=Resource.objects.visible_to(viewer).values("pk"))
    return list(
        ValueNote.objects.filter(on_threads | on_resources, author_id=person_id)
        .select_related("community", "thread__community", "resource__community")
        .order_by("-created_at")[:limit]
    )


# --- The item a note is about -------------------------------------------------


def item_for(viewer: Viewer, kind: str, pk: int) -> Item:
    """The thread, post or resource ``pk`` if the viewer may read it; otherwise the same 404 as a missing one."""
    if kind == "thread":
        thread = policy.get_thread_or_404(viewer, Thread.objects.all(), pk)
        return Item(thread.community, thread=thread)
    if kind == "post":
        post = Post.objects.select_related("thread__community").filter(pk=pk).first()
        # A deleted or hidden post takes no notes from those who can't read it: the same 404.
        if (
            post is None
            or post.is_deleted
            or not policy.can_view_thread(viewer, post.thread)
            or not policy.can_see_post_content(viewer, post)
        ):
            raise Http404("No such post.")
        return Item(post.thread.community, thread=post.thread, post=post)
    if kind == "resource":
        resource = Resource.objects.select_related("community").filter(pk=pk).first()
        if resource is None or not policy.can_view_resource(viewer, resource):
            raise Http404("No such resource.")
        return Item(resource.community, resource=resource)
    raise Http404("No such item.")


def note_for(viewer: Viewer, pk: int) -> tuple[ValueNote, Item]:
    """A note and its item, if the viewer may read the item; otherwise the same 404 as a missing note."""
    note = ValueNote.objects.select_related("author").filter(pk=pk).first()
    if note is None:
        raise Http404("No such value note.")
    if note.resource_id is not None:
        item = item_for(viewer, "resource", note.resource_id)
    elif note.post_id is not None:
        item = item_for(viewer, "post", note.post_id)
    else:
        assert note.thread_id is not None  # the check constraint: no resource, so a thread
        item = item_for(viewer, "thread", note.thread_id)
    note.community = item.community  # the note's own community (denormalised from the item)
    return note, item
