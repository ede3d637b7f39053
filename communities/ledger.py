"""The activity ledger: the one way anything is written into ``Activity``.

``discussions`` and ``resources`` call :func:`record` inside their own write
transactions, so a rolled-back post leaves no ledger row; views call
:func:`record_visit` on community pages. Participation levels
(``communities.participation``) are computed from these rows alone, which
keeps the dependency one-way: the base never imports the apps above it.

Days are UTC days (``timezone.now().date()`` with ``TIME_ZONE = "UTC"``), so
one member's "one visit a day" does not depend on the zone they browse from.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from communities import signals
from communities.models import Activity, Community, Membership

if TYPE_CHECKING:
    from accounts.models import User

Kind = Activity.Kind

# Kinds that count as a contribution to the community's repertoire (a value note says
# what an item did for a member: a contribution of its own, to the community's learning).
CONTRIBUTION_KINDS: tuple[str, ...] = (Kind.THREAD, Kind.REPLY, Kind.RESOURCE, Kind.VALUE)
# Kinds that make the community look "recently active" in the directory; a
# reaction or a value note alone should not lift a quiet community to the top.
BUMPING_KINDS: frozenset[str] = frozenset((Kind.THREAD, Kind.REPLY, Kind.RESOURCE))
RECORDABLE_KINDS: frozenset[str] = frozenset((*CONTRIBUTION_KINDS, Kind.REACTION))


def utc_day(at: datetime.datetime) -> datetime.date:
    """The UTC calendar day of an aware datetime."""
    return at.astimezone(datetime.UTC).date()


def record_visit(user: User, community: Community, membership: Membership | None) -> bool:
    """Note that ``user`` visited ``community`` today; True if this call wrote.

    Costs no query when the membership instance already says "seen today"
    (the common case: every page view after the first of the day), and at
    most one UPDATE and one INSERT otherwise. Only active members are
    recorded: visitors and pending, left or banned members have no level.
    """
    if membership is None or not membership.is_active:
        return False
    today = timezone.now().date()
    if membership.last_seen_on == today:
        return False
    with transaction.atomic():
        # The conditional UPDATE is the gate: of two concurrent first requests
        # of the day, only one changes the row and goes on to insert.
        updated = Membership.objects.filter(pk=membership.pk).exclude(last_seen_on=today).update(last_seen_on=today)
        if updated:
            # ignore_conflicts: the partial unique constraint (one visit per
            # community, user and day) absorbs any remaining race, e.g. a
            # membership whose last_seen_on was reset by hand.
            Activity.objects.bulk_create(
                [Activity(community=community, user=user, kind=Kind.VISIT, day=today)],
                ignore_conflicts=True,
            )
    membership.last_seen_on = today
    return bool(updated)


def record(
    user: User,
    community: Community,
    kind: str,
    *,
    at: datetime.datetime | None = None,
    post: object | None = None,
) -> Activity:
    """Append a contribution or reaction to the ledger; call it inside the write's transaction.

    Threads, replies and resources also move ``Community.last_activity_at``
    forward (never backward: a late-arriving older event leaves it alone) in
    one conditional UPDATE, so concurrent writers need no lock.

    A member's first contribution sets ``Membership.first_contributed_at`` and
    announces it (``signals.first_contribution``; ``post``: the post written,
    for a thread or a reply) exactly once: the UPDATE's condition is the gate.
    Of two concurrent first posts the second waits on the row lock and, once
    the first commits, finds the date set and updates nothing; a rolled-back
    post rolls the date back with it.
    """
    if kind not in RECORDABLE_KINDS:
        # Visits have their own once-a-day path; anything else is a typo.
        raise ValueError(f"cannot record {kind!r}; expected one of {sorted(RECORDABLE_KINDS)}")
    at = at or timezone.now()
    with transaction.atomic():
        activity = Activity.objects.create(community=community, user=user, kind=kind, day=utc_day(at), created_at=at)
        if kind in BUMPING_KINDS:
            Community.objects.filter(
                Q(last_activity_at__lt=at) | Q(last_activity_at__isnull=True), pk=community.pk
            ).update(last_activity_at=at)
        if kind in CONTRIBUTION_KINDS:
            first = Membership.objects.filter(
                user=user, community=community, state=Membership.State.ACTIVE, first_contributed_at__isnull=True
            ).update(first_contributed_at=at)
            if first:
                signals.first_contribution.send(Community, community=community, user=user, kind=kind, post=post)
    return activity
