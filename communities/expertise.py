"""A community's tag vocabulary, and the expertise its members declare from it.

The vocabulary is the tags used in the community's threads and resources
(django-taggit). ``communities`` imports neither app, so each registers, in
its ``AppConfig.ready()``, a condition on taggit's ``TaggedItem`` rows that
picks its own items of one community; the vocabulary is read in one query
whatever the number of sources.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from functools import reduce

from django.core.cache import cache
from django.db.models import Q
from taggit.models import Tag, TaggedItem

from communities.models import Community

# A member declares at most this many expertise tags per community.
MAX_EXPERTISE = 5

Source = Callable[[Community], Q]
_sources: list[Source] = []


def register(source: Source) -> Source:
    """``source(community)``: a condition on ``TaggedItem`` picking the community's tagged items of one kind."""
    if source not in _sources:
        _sources.append(source)
    return source


def vocabulary(community: Community) -> list[str]:
    """The tag names used in ``community`` (its threads and resources), sorted: one query."""
    if not _sources:
        return []
    items = TaggedItem.objects.filter(reduce(operator.or_, (source(community) for source in _sources)))
    names = Tag.objects.filter(pk__in=items.values("tag_id")).order_by("name").values_list("name", flat=True)
    return list(names)


# The directory's filter lists the vocabulary from the cache for this long: a tag added since shows a
# little later, one no longer used finds fewer members; the expertise form reads it fresh.
LISTED_SECONDS = 300


def listed_vocabulary(community: Community) -> list[str]:
    """``vocabulary``, kept in the cache a few minutes: the member directory's filter (no query on a hit)."""
    key = f"expertise-vocabulary:{community.pk}"
    names = cache.get(key)
    if names is None:
        names = vocabulary(community)
        cache.set(key, names, LISTED_SECONDS)
    return list(names)


def clean_choice(chosen: list[str], allowed: list[str]) -> tuple[list[str], str | None]:
    """``chosen`` as stored (in the vocabulary's spelling, each once, in its order), or why it can't be."""
    by_key = {name.lower(): name for name in allowed}
    picked: list[str] = []
    for name in chosen:
        found = by_key.get(name.strip().lower())
        if found is None:
            return [], f"“{name[:60]}” is not a tag used in this community; choose from its tags."
        if found not in picked:
            picked.append(found)
    if len(picked) > MAX_EXPERTISE:
        return [], f"Choose at most {MAX_EXPERTISE} tags."
    return picked, None
