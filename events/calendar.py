"""iCalendar output (RFC 5545) through the icalendar package: one event, a community, a person."""

from __future__ import annotations

import zoneinfo
from datetime import date, timedelta

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from icalendar import Calendar
from icalendar import Event as IcalEvent

from events import recurrence
from events.models import EventSeries


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def _item(uid: str, sequence: int, starts_at, ends_at, tz, fields, url: str, now, cancelled: bool) -> IcalEvent:
    item = IcalEvent()
    item.add("uid", uid)
    item.add("dtstamp", now)
    item.add("sequence", sequence)
    item.add("dtstart", starts_at.astimezone(tz))
    item.add("dtend", ends_at.astimezone(tz))
    item.add("summary", fields.title)
    item.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    item.add("url", url)
    description = fields.description
    if fields.link:
        description = f"{description}\n\nJoin: {fields.link}".strip()
    if description:
        item.add("description", description)
    if fields.place:
        item.add("location", fields.place)
    return item


def _series_item(series: EventSeries, url: str, now) -> IcalEvent:
    """One VEVENT for a whole series: its first date, RRULE and EXDATE (the skipped dates)."""
    tz = _zone(series.time_zone)
    first = recurrence.local_start(series, series.start_date)
    item = _item(
        series.uid, series.sequence, first, first + timedelta(minutes=series.duration), tz, series, url, now, False
    )
    item.add("rrule", recurrence.ical_rule(series))
    skipped = sorted(series.skip_dates)
    if skipped:
        item.add("exdate", [recurrence.local_start(series, date.fromisoformat(day)) for day in skipped])
    return item


def calendar_for(events, name: str, *, series: bool = True) -> bytes:
    """``events`` as a calendar. With ``series``, the occurrences of a series are one VEVENT with its
    RRULE and EXDATE, plus one for each occurrence edited on its own (RECURRENCE-ID, the date it replaces);
    without (one occurrence's own .ics), every event is its own VEVENT."""
    cal = Calendar()
    cal.add("prodid", f"-//{settings.COPSITE_NAME}//events//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", name)
    now = timezone.now()
    done: set[int] = set()
    for event in events:
        tz = _zone(event.time_zone)
        url = settings.SITE_URL + event.get_absolute_url()
        rule = event.series if series and event.series_id and event.occurrence_date else None
        if rule is None:
            cancelled = event.cancelled_at is not None
            item = _item(event.uid, event.sequence, event.starts_at, event.ends_at, tz, event, url, now, cancelled)
            cal.add_component(item)
            continue
        if rule.pk not in done:
            done.add(rule.pk)
            cal.add_component(_series_item(rule, url, now))
        if event.detached and event.occurrence_date.isoformat() not in rule.skip_dates:
            sequence = rule.sequence + event.sequence
            item = _item(rule.uid, sequence, event.starts_at, event.ends_at, tz, event, url, now, False)
            item.add("recurrence-id", recurrence.local_start(rule, event.occurrence_date))
            cal.add_component(item)
    cal.add_missing_timezones()
    return cal.to_ical()


def ics_response(events, name: str, filename: str, *, series: bool = True) -> HttpResponse:
    response = HttpResponse(calendar_for(events, name, series=series), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, max-age=300"
    return response
