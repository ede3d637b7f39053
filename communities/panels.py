"""Sections that apps above ``communities`` add to its pages.

``communities`` imports none of the apps built on it, so the community page
and the facilitator dashboard ask this registry instead: discussions adds the
thread list and the flag queue, resources the pinned repertoire, and so on.
Each provider returns a ``Panel`` (a template and its context) or None.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from communities.models import Community


@dataclass
class Panel:
    template: str
    context: dict = field(default_factory=dict)
    order: int = 100


Provider = Callable[[HttpRequest, Community], Panel | None]
# "community_head": what the apps add to the community page's <head> (feed links).
# "welcome": what a new member is shown after joining (Start here, the introductions thread).
_providers: dict[str, list[Provider]] = {"community": [], "community_head": [], "dashboard": [], "welcome": []}


def register(slot: str, provider: Provider) -> Provider:
    if provider not in _providers[slot]:
        _providers[slot].append(provider)
    return provider


def render_panels(slot: str, request: HttpRequest, community: Community, base: dict) -> list[SafeString]:
    panels = [p for p in (provider(request, community) for provider in _providers[slot]) if p is not None]
    panels.sort(key=lambda p: p.order)
    # Each panel is a template of its own (its app's context), escaped as it renders; the page inserts it as is.
    return [mark_safe(render_to_string(p.template, {**base, **p.context}, request=request)) for p in panels]  # noqa: S308
