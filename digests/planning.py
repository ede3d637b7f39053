"""Who is due a digest now: one DigestRun per person and local date, created idempotently.

Every person's rhythm lives in their own time zone: the run for a local date
becomes due at their delivery hour that day, and includes each community
whose cadence falls on that date (daily: every day; weekly: their weekly
day; monthly: their weekly day in the first week of the month).
"""

from __future__ import annotations

import math
import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.db.models import Q

from communities.models import Cadence, Membership
from digests.models import DigestRun

# How far back a first digest looks, per cadence.
FIRST_WINDOW: dict[str, timedelta] = {
    Cadence.DAILY: timedelta(days=1),
    Cadence.WEEKLY: timedelta(days=7),
    Cadence.MONTHLY: timedelta(days=31),
}


def cadence_due(cadence: str, local_day: date, weekday: int) -> bool:
    if cadence == Cadence.DAILY:
        return True
    if cadence == Cadence.WEEKLY:
        return local_day.weekday() == weekday
    if cadence == Cadence.MONTHLY:
        return local_day.weekday() == weekday and local_day.day <= 7
    return False


def zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


@dataclass
class Person:
    user_id: int
    tz: zoneinfo.ZoneInfo
    hour: int
    weekday: int
    last_login: datetime | None
    cadences: dict[int, str] = field(default_factory=dict)  # community id → effective cadence
    chosen: dict[int, datetime] = field(default_factory=dict)  # community id → when they chose its cadence
    last_seen: date | None = None


def subscribers(user_ids: list[int] | None = None) -> dict[int, Person]:
    """People with at least one digest subscription, from one query over active memberships."""
    memberships = Membership.objects.filter(
        state=Membership.State.ACTIVE, user__is_active=True, user__email_paused=False
    ).filter(
        # Email must be verified: digests never go to an unconfirmed address.
        user__in=EmailAddress.objects.filter(verified=True, primary=True).values("user_id")
    )
    if user_ids is not None:
        memberships = memberships.filter(user_id__in=user_ids)
    rows = memberships.values_list(
        "user_id",
        "user__time_zone",
        "user__digest_hour",
        "user__digest_weekday",
        "user__last_login",
        "community_id",
        "digest_cadence",
        "community__default_cadence",
        "last_seen_on",
        "digest_chosen_at",
    )
    people: dict[int, Person] = {}
    for uid, tz, hour, weekday, last_login, community_id, own, default, seen, chosen in rows:
        cadence = own or default
        person = people.get(uid)
        if person is None:
            person = people[uid] = Person(uid, zone(tz), hour, weekday, last_login)
        if cadence != Cadence.OFF:
            person.cadences[community_id] = cadence
            if chosen is not None:
                person.chosen[community_id] = chosen
        if seen and (person.last_seen is None or seen > person.last_seen):
            person.last_seen = seen
    return {uid: p for uid, p in people.items() if p.cadences}


def dormant(person: Person, now: datetime) -> bool:
    """Not seen for DIGEST_DORMANT_DAYS: no digests until they come back."""
    limit = now - timedelta(days=settings.DIGEST_DORMANT_DAYS)
    seen = [d for d in (person.last_login, _as_datetime(person.last_seen)) if d is not None]
    return bool(seen) and max(seen) < limit


def _as_datetime(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time(23, 59), tzinfo=zoneinfo.ZoneInfo("UTC"))


def due_period(person: Person, now: datetime) -> tuple[str, datetime] | None:
    """The person's local date and due time if a digest is due now, else None.

    A cadence chosen after today's delivery hour starts at the next one: choosing
    daily at 15:00 with 08:00 as the hour brings the first digest tomorrow at
    08:00, not at once.
    """
    local = now.astimezone(person.tz)
    if local.hour < person.hour:
        return None
    day = local.date()
    due = datetime.combine(day, time(person.hour), tzinfo=person.tz)
    if not any(
        cadence_due(cadence, day, person.weekday) and chosen_by(person, community_id, due)
        for community_id, cadence in person.cadences.items()
    ):
        return None
    return day.isoformat(), due


def chosen_by(person: Person, community_id: int, due: datetime) -> bool:
    """The community's cadence was chosen before the digest due at ``due`` (or follows the default all along)."""
    chosen = person.chosen.get(community_id)
    return chosen is None or chosen <= due


def plan(now: datetime) -> list[int]:
    """Create the due runs (unique per person and period) and return every run waiting to be built."""
    runs = []
    for person in subscribers().values():
        if dormant(person, now):
            continue
        period = due_period(person, now)
        if period is not None:
            runs.append(DigestRun(user_id=person.user_id, period=period[0], due_at=period[1], created_at=now))
    # One INSERT up to 10,000 runs: planning's queries stay flat as the site grows.
    created = DigestRun.objects.bulk_create(runs, ignore_conflicts=True, batch_size=10_000)
    # New runs, plus any left planned by a lost message or a killed worker.
    stale = now - timedelta(minutes=settings.DIGEST_REBUILD_AFTER_MINUTES)
    waiting = DigestRun.objects.filter(state=DigestRun.State.PLANNED).filter(
        Q(created_at__lte=stale) | Q(created_at=now)
    )
    del created
    return list(waiting.order_by("pk").values_list("pk", flat=True))


def chunks(run_ids: list[int]) -> list[list[int]]:
    """Split runs into build tasks: a fixed number of them, each bounded.

    At most DIGEST_BUILD_TASKS chunks, so the queries of a build (about a dozen
    per chunk) do not grow with members and the work still spreads over the
    workers; at least DIGEST_CHUNK_SIZE runs in each, so a few runs are not
    split needlessly; at most DIGEST_CHUNK_MAX, so one transaction's locks and
    memory stay bounded however large the site grows.
    """
    wanted = math.ceil(len(run_ids) / settings.DIGEST_BUILD_TASKS)
    size = min(max(wanted, settings.DIGEST_CHUNK_SIZE), settings.DIGEST_CHUNK_MAX)
    return [run_ids[i : i + size] for i in range(0, len(run_ids), size)]
