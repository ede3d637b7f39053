"""What resources reads: the library's cards, the pinned ones, whether the reader found a resource helpful.

One statement is written out in SQL (``core.db.Columns``), the pinned cards,
with the measurement that keeps it beside it; the rest is the ORM.
"""

from __future__ import annotations

from django.db.models import QuerySet, prefetch_related_objects

from accounts.models import NAME_FIELDS, User, Viewer
from communities.models import Community
from core.db import Columns, M, fetch_all
from discussions.models import Thread
from resources.models import Resource, ResourceReaction

# What a resource card shows (resources/_card.html); the texts, their HTML and
# the search vector stay in the database.
CARD_FIELDS = (
    "community",
    "kind",
    "title",
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


def library_cards(community: Community, *, kind: str = "", tag: str = "", sort: str = "newest") -> QuerySet[Resource]:
    """The library's unpinned cards of ``kind`` with ``tag`` (either may be empty), in a ``SORTS`` order."""
    rest = cards(community).filter(pin_position__isnull=True)
    if kind:
        rest = rest.filter(kind=kind)
    if tag:
        rest = rest.filter(tags__name=tag)
    return rest.order_by(*SORTS[sort])


def found_helpful(resource: Resource, user: Viewer) -> bool:
    """Whether ``user`` marked ``resource`` helpful."""
    return user.is_authenticated and ResourceReaction.objects.filter(resource=resource, user=user).exists()


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
    " WHERE r.community_id = %s AND r.removed_at IS NULL AND r.pin_position IS NOT NULL ORDER BY r.pin_position"
)


def pinned_cards(community: Community) -> list[Resource]:
    """The pinned cards ("Start here"), in the facilitators' order, with their tags."""
    pinned = []
    for row in fetch_all(_PINNED_SQL, [community.pk]):
        resource = _CARD_COLUMNS.build_present(row)
        resource.community = community
        resource.added_by = _ADDED_BY_COLUMNS.build(row, _CARD_COLUMNS.width)
        resource.thread = _DISCUSSION_COLUMNS.build(row, _CARD_COLUMNS.width + _ADDED_BY_COLUMNS.width)
        pinned.append(resource)
    if pinned:
        prefetch_related_objects(pinned, "tags")
    return pinned
