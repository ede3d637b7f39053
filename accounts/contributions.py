"""What a person has contributed, as shown on their public profile.

Apps above ``accounts`` register providers; each must only return items the
*viewer* may see (they filter through communities.policy).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from accounts.models import User, Viewer


@dataclass(frozen=True)
class Contribution:
    kind: str  # e.g. "Started a thread", "Replied"
    title: str
    url: str
    where: str
    at: datetime


# (viewer, person whose profile it is, how many at most)
Provider = Callable[["Viewer", "User", int], list[Contribution]]
_providers: list[Provider] = []


def register(provider: Provider) -> Provider:
    if provider not in _providers:
        _providers.append(provider)
    return provider


def contributions_for(viewer: Viewer, person: User, limit: int = 20) -> list[Contribution]:
    items = [item for provider in _providers for item in provider(viewer, person, limit)]
    return sorted(items, key=lambda c: c.at, reverse=True)[:limit]
