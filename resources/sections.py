"""Sections that apps above ``resources`` add to a resource's page (the practice loop's outcomes).

``resources`` imports none of the apps built on it, so its page asks this
registry, filled in ``AppConfig.ready()``. A provider returns the section's
HTML (already escaped by its own template) or None.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest
from django.utils.safestring import SafeString

from resources.models import Resource

Provider = Callable[[HttpRequest, Resource], SafeString | None]
_providers: list[Provider] = []


def register(provider: Provider) -> Provider:
    if provider not in _providers:
        _providers.append(provider)
    return provider


def render(request: HttpRequest, resource: Resource) -> list[SafeString]:
    return [html for html in (provider(request, resource) for provider in _providers) if html is not None]
