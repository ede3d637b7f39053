"""Reminder moments on the member's own wall clock, stored in UTC.

Every preset is worked out in the member's time zone and only then turned
into an instant, so "tomorrow at 9" is 09:00 on their clock whether or not
the clocks change tonight. Arithmetic on aware datetimes in Python is wall
clock arithmetic, so "in three hours" is done in UTC and days are added to
dates, never to instants.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

NINE = time(9, 0)
LATER_TODAY_AHEAD = timedelta(hours=3)
# A reminder further ahead than this is a typing mistake, not a plan.
FURTHEST = timedelta(days=5 * 366)


def zone_of(name: str) -> zoneinfo.ZoneInfo:
    """The member's zone; a name zoneinfo no longer knows reads as UTC rather than failing the page."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def on_the_clock(day: date, at: time, zone: zoneinfo.ZoneInfo) -> datetime:
    """``day`` at ``at`` as the clocks of ``zone`` show it.

    A time the clocks skip when they go forward (02:30 on that night) is the
    moment they show 03:30; a time they show twice when they go back is the
    first of the two.
    """
    wanted = datetime.combine(day, at).replace(tzinfo=zone)  # fold=0: the first of two
    shown = wanted.astimezone(UTC).astimezone(zone)
    return shown if shown.replace(tzinfo=None) != wanted.replace(tzinfo=None) else wanted


@dataclass(frozen=True)
class Preset:
    key: str
    label: str
    moment: datetime | None  # None: not on offer now (too late in the day for "later today")


def later_today(now: datetime, zone: zoneinfo.ZoneInfo) -> datetime | None:
    """The first full hour at least three hours from now, if that is still today on the member's clock."""
    local_now = now.astimezone(zone)
    ahead = (now.astimezone(UTC) + LATER_TODAY_AHEAD).astimezone(zone).replace(tzinfo=None)
    hour = ahead.replace(minute=0, second=0, microsecond=0)
    if hour < ahead:
        hour += timedelta(hours=1)
    if hour.date() != local_now.date():
        return None
    return on_the_clock(hour.date(), hour.time(), zone)


def tomorrow_at_nine(now: datetime, zone: zoneinfo.ZoneInfo) -> datetime:
    return on_the_clock(now.astimezone(zone).date() + timedelta(days=1), NINE, zone)


def next_monday_at_nine(now: datetime, zone: zoneinfo.ZoneInfo) -> datetime:
    """The coming Monday (a week today on a Monday) at 09:00."""
    today = now.astimezone(zone).date()
    return on_the_clock(today + timedelta(days=7 - today.weekday()), NINE, zone)


def presets(now: datetime, zone: zoneinfo.ZoneInfo) -> list[Preset]:
    soon = later_today(now, zone)
    tomorrow = tomorrow_at_nine(now, zone)
    monday = next_monday_at_nine(now, zone)
    return [
        Preset("later_today", f"Later today, {soon:%H:%M}" if soon else "Later today", soon),
        Preset("tomorrow", f"Tomorrow at 9:00 ({_day(tomorrow)})", tomorrow),
        Preset("next_monday", f"Next Monday at 9:00 ({_day(monday)})", monday),
    ]


def _day(moment: datetime) -> str:
    return f"{moment:%a} {moment.day} {moment:%b}"
