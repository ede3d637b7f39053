"""What anyone on the internet would see of a community if it were open.

An owner changing a community's visibility confirms it on a page that lists
exactly this: the threads, replies, resources, files and events visitors
would read, and the people whose names those pages show; and, for a
restricted community, what its front page shows everyone (the facilitators)
and what stays for members. ``communities``
imports none of the apps that keep those things, so each registers a provider
(in its ``AppConfig.ready()``) that answers for its own models, with the same
rules its pages use (nothing held for review, no removed resources).

The page also carries a fingerprint of what it showed: if anything changed
before the owner confirmed (a new thread, a renamed file), the page is shown
again instead of publishing what nobody looked at.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

from accounts.models import NAME_FIELDS, User
from communities.models import Community, Membership

# Names listed per kind on the page; the counts are always complete.
SHOWN = 100


@dataclass(frozen=True)
class Listing:
    """One kind of thing visitors would see: how many, and the first ``SHOWN`` of their names."""

    label: str  # "Threads", "Replies"…, as the page's heading says it
    count: int
    names: list[str] = field(default_factory=list)
    order: int = 100

    @property
    def unlisted(self) -> int:
        return self.count - len(self.names)


@dataclass
class Exposed:
    """A provider's answer: its listings, and the people its pages name (queries of user ids)."""

    listings: list[Listing]
    people: list[QuerySet] = field(default_factory=list)


Provider = Callable[[Community], Exposed]
_providers: list[Provider] = []
# The same for one thread (by id) moved into a more open community: what its page would show there.
ThreadProvider = Callable[[int], Exposed]
_thread_providers: list[ThreadProvider] = []


def register(provider: Provider) -> Provider:
    if provider not in _providers:
        _providers.append(provider)
    return provider


def register_thread(provider: ThreadProvider) -> ThreadProvider:
    if provider not in _thread_providers:
        _thread_providers.append(provider)
    return provider


def listing(label: str, rows: QuerySet, name_field: str, *, order: int) -> Listing:
    """Count ``rows`` and take the first ``SHOWN`` values of ``name_field`` (rows come ordered)."""
    return Listing(label, rows.count(), [str(n) for n in rows.values_list(name_field, flat=True)[:SHOWN]], order)


def own_page(community: Community) -> Exposed:
    """The community page itself: its owners and facilitators are named on it."""
    leaders = Membership.objects.filter(
        community=community,
        state=Membership.State.ACTIVE,
        role__in=[Membership.Role.OWNER, Membership.Role.FACILITATOR],
    ).values("user_id")
    return Exposed([], [leaders])


def front_page(community: Community) -> Listing:
    """The people a restricted community's front page names to everyone: its owners and facilitators."""
    leaders = User.objects.filter(pk__in=own_page(community).people[0], deleted_at__isnull=True).order_by(
        "display_name", "username"
    )
    return Listing(
        "Facilitators named on its front page",
        leaders.count(),
        [person.name for person in leaders.only(*NAME_FIELDS)[:SHOWN]],
    )


@dataclass(frozen=True)
class Exposure:
    listings: list[Listing]
    people: Listing
    front: Listing = field(default_factory=lambda: Listing("Facilitators named on its front page", 0))

    @property
    def fingerprint(self) -> str:
        """A digest of everything the page lists, to tell whether it still holds when confirmed."""
        shown = [[item.label, item.count, item.names] for item in [*self.listings, self.people, self.front]]
        return hashlib.sha256(json.dumps(shown, ensure_ascii=False).encode()).hexdigest()[:32]

    def summary(self) -> str:
        """One line for the audit log: "3 threads, 12 replies, 0 resources, …, 4 people named"."""
        parts = [f"{item.count} {item.label.lower()}" for item in [*self.listings, self.people]]
        return ", ".join(parts)

    def summary_for(self, before: str, after: str) -> str:
        """The audit line for a change from visibility ``before`` to ``after``: what it showed, and to whom."""
        Visibility = Community.Visibility
        front = f"name, domain statement and {self.front.count} {self.front.label.lower()}"
        if after == Visibility.OPEN:
            return f"to everyone: {self.summary()}"
        if after == Visibility.RESTRICTED:
            shown = "to everyone" if before == Visibility.PRIVATE else "still to everyone"
            return f"{shown}: {front}; members only: {self.summary()}"
        return f"members only: {front}, {self.summary()}"


def of(community: Community) -> Exposure:
    """What a visitor without an account would see of ``community`` if it were open (whatever it is now)."""
    return _gathered([provider(community) for provider in _providers], front_page(community))


def of_thread(thread_id: int) -> Exposure:
    """What the page of thread ``thread_id`` shows its readers: its replies, files and the people it names."""
    return _gathered([provider(thread_id) for provider in _thread_providers])


def _gathered(answers: list[Exposed], front: Listing | None = None) -> Exposure:
    front = front or Listing("Facilitators named on its front page", 0)
    listings = sorted((item for answer in answers for item in answer.listings), key=lambda item: item.order)
    named = Q()
    for ids in (ids for answer in answers for ids in answer.people):
        named |= Q(pk__in=ids)
    # Deleted accounts show as "Former member": no name of theirs is published.
    people = (
        User.objects.filter(named, deleted_at__isnull=True).only(*NAME_FIELDS).order_by("display_name", "username")
        if named
        else None
    )
    if people is None:
        return Exposure(listings, Listing("People named", 0), front)
    names = [person.name for person in people[:SHOWN]]
    return Exposure(listings, Listing("People named", people.count(), names), front)
