"""The dates of a series (python-dateutil's rrule) and their wall-clock times on the series' own clock.

Pure functions over an ``EventSeries`` (or anything with its fields): no
database. A series is weekly (every N weeks on chosen weekdays) or monthly
on the nth weekday (1st–4th or last) of the first date; it ends on a date
or after a count, within ``MAX_OCCURRENCES`` and ``MAX_SPAN``. COUNT counts
skipped dates too, as iCalendar's EXDATE does.
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta
from itertools import islice
from typing import Protocol

from dateutil import rrule  # type: ignore[import-untyped]  # no stubs in the environment

MAX_OCCURRENCES = 200
MAX_SPAN = timedelta(days=3 * 365 + 1)  # three years from the first date
WINDOW = timedelta(days=92)  # occurrences exist this far ahead
WEEKDAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
ICAL_DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}


class SeriesLike(Protocol):
    frequency: str
    interval: int
    weekdays: str
    month_week: int | None
    start_date: date
    start_time: time
    time_zone: str
    until: date | None
    count: int | None
    skip_dates: list[str]


def weekday_list(series: SeriesLike) -> list[int]:
    return sorted({int(d) for d in series.weekdays.split(",") if d.strip().isdigit()})


def month_week_of(day: date) -> tuple[int, bool]:
    """Which week of its month ``day`` falls in (1–5) and whether it is the month's last such weekday."""
    return (day.day - 1) // 7 + 1, (day + timedelta(days=7)).month != day.month


def _rule(series: SeriesLike) -> rrule.rrule:
    start = datetime.combine(series.start_date, series.start_time)
    if series.frequency == "monthly":
        weekday = rrule.weekday(series.start_date.weekday(), series.month_week or 1)
        kwargs: dict = {"freq": rrule.MONTHLY, "byweekday": weekday}
    else:
        kwargs = {
            "freq": rrule.WEEKLY,
            "interval": series.interval or 1,
            "byweekday": weekday_list(series) or [series.start_date.weekday()],
            "wkst": rrule.MO,
        }
    last = series.start_date + MAX_SPAN
    if series.until is not None:
        last = min(last, series.until)
    return rrule.rrule(dtstart=start, until=datetime.combine(last, time.max), cache=False, **kwargs)


def rule_dates(series: SeriesLike) -> list[date]:
    """Every date of the rule, skipped ones included (at most MAX_OCCURRENCES)."""
    limit = min(series.count or MAX_OCCURRENCES, MAX_OCCURRENCES)
    return [moment.date() for moment in islice(_rule(series), limit)]


def occurrence_dates(series: SeriesLike) -> list[date]:
    """The dates that happen: the rule's, less the skipped ones."""
    skipped = set(series.skip_dates or [])
    return [day for day in rule_dates(series) if day.isoformat() not in skipped]


def local_start(series: SeriesLike, day: date) -> datetime:
    """``day`` at the series' start time on its own clock: the same wall-clock time in summer and winter."""
    return datetime.combine(day, series.start_time, tzinfo=zone(series.time_zone))


def zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def ical_rule(series: SeriesLike) -> dict:
    """The RRULE value as the icalendar package takes it (UNTIL in UTC, as RFC 5545 wants with a TZID start)."""
    if series.frequency == "monthly":
        rule: dict = {"freq": "MONTHLY", "byday": f"{series.month_week or 1}{ICAL_DAYS[series.start_date.weekday()]}"}
    else:
        days = weekday_list(series) or [series.start_date.weekday()]
        rule = {"freq": "WEEKLY", "interval": series.interval or 1, "byday": [ICAL_DAYS[d] for d in days], "wkst": "MO"}
    # Always UNTIL, the last date the rule reaches (COUNT or the caps): a calendar app stops where the site does.
    dates = rule_dates(series)
    last = dates[-1] if dates else series.start_date
    end_of_day = datetime.combine(last, time(23, 59, 59), tzinfo=zone(series.time_zone))
    rule["until"] = end_of_day.astimezone(zoneinfo.ZoneInfo("UTC"))
    return rule


def describe(series: SeriesLike) -> str:
    """ "Every 2 weeks on Monday and Thursday, until 3 Mar 2027" — for the event page."""
    if series.frequency == "monthly":
        nth = ORDINALS.get(series.month_week or 1, "first")
        what = f"Monthly on the {nth} {WEEKDAY_NAMES[series.start_date.weekday()]}"
    else:
        names = [WEEKDAY_NAMES[d] for d in weekday_list(series) or [series.start_date.weekday()]]
        days = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        every = "Every week" if (series.interval or 1) == 1 else f"Every {series.interval} weeks"
        what = f"{every} on {days}"
    if series.count:
        return f"{what}, {series.count} times"
    if series.until:
        return f"{what}, until {series.until.day} {series.until:%b %Y}"
    return what
