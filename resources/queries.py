"""What resources reads: the library's cards, the pinned ones, whether the reader found a resource helpful.

One statement is written out in SQL (``core.db.Columns``), the pinned cards,
with the measurement that keeps it beside it; the rest is the ORM.
"""

from __future__ import annotations

from datetime import date, datetime

from django.db.models import Exists, F, OuterRef, QuerySet, prefetch_related_objects

from accounts.models import NAME_FIELDS, User, Viewer
from communities import policy
from communities.models import Community
from core.db import Columns, M, fetch_all
from discussions.models import Thread
from resources.models import Resource, ResourceFileVersion, ResourceReaction, ResourceReview, ResourceThread

# What a resource card shows (resources/_card.html); the texts, their HTML and
# the search vector stay in the database.
CARD_FIELDS = (
    "community",
    "kind",
    "title",
    "status",
    "pin_position",
    "helpful_count",
    "added_by",
    *(f"added_by__{name}" for name in NAME_FIELDS),
    "thread",
    "thread__reply_count",
    # What policy.linked_thread reads: the discussion may have been moved or held.
    "thread__community",
    "thread__author",
    "thread__held_at",
    "thread__subgroup",
)


def cards(community: Community) -> QuerySet[Resource]:
    """The library's resources in ``community`` as cards show them (a queryset: the caller filters, orders, pages)."""
    return (
        Resource.objects.listed()
        .filter(community=community)
        .select_related("added_by", "thread")
        .only(*CARD_FIELDS)
        .prefetch_related("tags")  # type: ignore[misc]  # taggit's manager; django-stubs' plugin knows Django's relations only
    )


SORTS = {"newest": ("-created_at", "-pk"), "helpful": ("-helpful_count", "-created_at", "-pk")}
# The library's status filter. "" lists the current repertoire (published and endorsed);
# superseded resources are listed only under their own filter, drafts only for those who see them.
STATUSES = {"": "Current", "endorsed": "Endorsed", "superseded": "Superseded", "draft": "Drafts"}
CURRENT = (Resource.Status.PUBLISHED, Resource.Status.ENDORSED)
# Pinned first in the facilitators' order, on every database (SQLite sorts NULL first by default).
PINNED_ORDER = (F("pin_position").asc(nulls_last=True), "pk")


def library_cards(
    community: Community, *, kind: str = "", tag: str = "", sort: str = "newest", status: str = "", viewer: Viewer
) -> QuerySet[Resource]:
    """The library's unpinned cards of ``kind`` with ``tag`` (either may be empty) and ``status``, ``SORTS`` order."""
    rest: QuerySet[Resource]
    if status == "draft":
        rest = Resource.objects.filter(community=community).filter(policy.drafts_q(viewer, community))
        rest = rest.select_related("added_by", "thread").only(*CARD_FIELDS).prefetch_related("tags")  # type: ignore[misc]
    elif kind or tag or status:
        # A filter keeps the pinned resources that match it: first, in the facilitators' order.
        rest = cards(community)
        rest = rest.filter(status=status) if status else rest.filter(status__in=CURRENT)
        return _filtered(rest, kind, tag).order_by(*PINNED_ORDER[:1], *SORTS[sort])
    else:
        # Unfiltered, the pinned ones come apart (``pinned_cards``).
        rest = cards(community).filter(pin_position__isnull=True, status__in=CURRENT)
    return _filtered(rest, kind, tag).order_by(*SORTS[sort])


def _filtered(rest: QuerySet[Resource], kind: str, tag: str) -> QuerySet[Resource]:
    if kind:
        rest = rest.filter(kind=kind)
    if tag:
        rest = rest.filter(tags__name=tag)
    return rest


def removed_cards(community: Community, since: datetime) -> list[Resource]:
    """Resources removed since ``since`` (restorable), most recently removed first."""
    return list(
        Resource.objects.filter(community=community, removed_at__gte=since)
        .select_related("added_by")
        .only("community", "kind", "title", "removed_at", "added_by", *(f"added_by__{n}" for n in NAME_FIELDS))
        .order_by("-removed_at", "-pk")
    )


def due_for_review(community: Community, today: date) -> list[Resource]:
    """Resources of ``community`` whose review date has come, the most overdue first."""
    return list(
        Resource.objects.listed()
        .filter(community=community, review_by__lte=today)
        .exclude(status=Resource.Status.SUPERSEDED)
        .only("community", "title", "kind", "review_by", "status")
        .order_by("review_by", "pk")[:50]
    )


def due_for_review_in(community_ids: list[int], today: date) -> list[Resource]:
    """Every due resource of these communities in one query (digests)."""
    return list(
        Resource.objects.listed()
        .filter(community_id__in=community_ids, review_by__lte=today)
        .exclude(status=Resource.Status.SUPERSEDED)
        .only("community", "title", "review_by")
        .order_by("review_by", "pk")[:500]
    )


def reviews(resource: Resource) -> list[ResourceReview]:
    return list(resource.reviews.select_related("reviewer")[:10])


def file_versions(resource: Resource) -> list[ResourceFileVersion]:
    return list(resource.file_versions.select_related("replaced_by"))


def thread_links(resource: Resource) -> list[ResourceThread]:
    """The discussions linked to ``resource`` (threads with their community, for the visibility check)."""
    return list(
        resource.thread_links.select_related("thread", "thread__community", "thread__author").order_by(
            "relation", "created_at", "pk"
        )
    )


def resources_of_thread(thread: Thread) -> list[ResourceThread]:
    """The links from ``thread`` to resources, with the resource and its community (one query)."""
    return list(
        ResourceThread.objects.filter(thread=thread)
        .select_related("resource", "resource__community")
        .order_by("relation", "created_at", "pk")
    )


def replacement_choices(resource: Resource) -> QuerySet[Resource]:
    """Resources of the same library that can replace ``resource``."""
    return (
        Resource.objects.listed()
        .filter(community_id=resource.community_id)
        .exclude(pk=resource.pk)
        .exclude(status=Resource.Status.SUPERSEDED)
        .only("title")
        .order_by("title", "pk")
    )


def found_helpful(resource: Resource, user: Viewer) -> bool:
    """Whether ``user`` marked ``resource`` helpful (read with the page's row when it was: ``for_page``)."""
    if hasattr(resource, "reader_found_helpful"):
        return bool(resource.reader_found_helpful)
    return user.is_authenticated and ResourceReaction.objects.filter(resource=resource, user=user).exists()


def for_page(user: Viewer) -> QuerySet[Resource]:
    """A resource's page row: who added, owns, endorsed and replaced it, its thread, and whether the
    reader marked it helpful (in the same statement)."""
    rows = Resource.objects.select_related("added_by", "thread", "owner", "endorsed_by", "superseded_by")
    if not user.is_authenticated:
        return rows
    return rows.annotate(
        reader_found_helpful=Exists(ResourceReaction.objects.filter(resource=OuterRef("pk"), user_id=user.pk))
    )


def _card_columns(alias: str, model: type[M], prefix: str = "") -> Columns[M]:
    names = [f.removeprefix(prefix) for f in CARD_FIELDS if f.startswith(prefix) and "__" not in f.removeprefix(prefix)]
    return Columns(model, alias, fields=names)


# The pinned cards ("Start here") on the community page and atop the library,
# with the columns CARD_FIELDS names; their tags come in one more query. Its
# ORM twin (cards().filter(pin_position__isnull=False)): a community's page, ORM
# 3.87 ms vs SQL 2.61 ms CPU per request (+48 %; instructions 22.9 M vs 18.3 M,
# +25 %); bench/cpu.py --batches 5 (quickest of 13 runs) and bench/instructions.py, 2026-12-02.
_CARD_COLUMNS = _card_columns("r", Resource)
_ADDED_BY_COLUMNS = _card_columns("a", User, "added_by__")
_DISCUSSION_COLUMNS = _card_columns("th", Thread, "thread__")
_PINNED_SQL = (
    f"SELECT {_CARD_COLUMNS.sql}, {_ADDED_BY_COLUMNS.sql}, {_DISCUSSION_COLUMNS.sql}"  # noqa: S608
    f" FROM {Resource._meta.db_table} r LEFT JOIN {User._meta.db_table} a ON a.id = r.added_by_id"
    f" LEFT JOIN {Thread._meta.db_table} th ON th.id = r.thread_id"
    " WHERE r.community_id = %s AND r.removed_at IS NULL AND r.pin_position IS NOT NULL"
    " AND r.status IN (%s, %s) ORDER BY r.pin_position, r.id"
)


def pinned_cards(community: Community) -> list[Resource]:
    """The pinned cards ("Start here"), in the facilitators' order, with their tags."""
    pinned = []
    for row in fetch_all(_PINNED_SQL, [community.pk, *CURRENT]):
        resource = _CARD_COLUMNS.build_present(row)
        resource.community = community
        resource.added_by = _ADDED_BY_COLUMNS.build(row, _CARD_COLUMNS.width)
        resource.thread = _DISCUSSION_COLUMNS.build(row, _CARD_COLUMNS.width + _ADDED_BY_COLUMNS.width)
        pinned.append(resource)
    if pinned:
        prefetch_related_objects(pinned, "tags")
    return pinned
