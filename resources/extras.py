"""What apps above resources add to a resource's page; they register in their AppConfig.ready().

resources imports none of the apps built on it, so its detail page asks this
registry: each provider gets the request and the (visible) resource and
returns the HTML of its block, or None. value adds the resource's value notes;
practice, a research summary's "I'll try this" and what happened.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.http import HttpRequest
from django.utils.safestring import SafeString

if TYPE_CHECKING:
    from resources.models import Resource

Provider = Callable[[HttpRequest, "Resource"], SafeString | None]
_providers: list[Provider] = []


def register(provider: Provider) -> Provider:
    if provider not in _providers:
        _providers.append(provider)
    return provider


def render_extras(request: HttpRequest, resource: Resource) -> list[SafeString]:
    return [block for block in (provider(request, resource) for provider in _providers) if block is not None]
