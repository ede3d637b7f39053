"""iCalendar output (RFC 5545) through the icalendar package: one event, a community, a person."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from icalendar import Calendar
from icalendar import Event as IcalEvent


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def calendar_for(events, name: str) -> bytes:
    cal = Calendar()
    cal.add("prodid", f"-//{settings.COPSITE_NAME}//events//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", name)
    now = timezone.now()
    for event in events:
        tz = _zone(event.time_zone)
        item = IcalEvent()
        item.add("uid", event.uid)
        item.add("dtstamp", now)
        item.add("sequence", event.sequence)
        item.add("dtstart", event.starts_at.astimezone(tz))
        item.add("dtend", event.ends_at.astimezone(tz))
        item.add("summary", event.title)
        item.add("status", "CANCELLED" if event.cancelled_at else "CONFIRMED")
        item.add("url", settings.SITE_URL + event.get_absolute_url())
        description = event.description
        if event.link:
            description = f"{description}\n\nJoin: {event.link}".strip()
        if description:
            item.add("description", description)
        if event.place:
            item.add("location", event.place)
        cal.add_component(item)
    cal.add_missing_timezones()
    return cal.to_ical()


def ics_response(events, name: str, filename: str) -> HttpResponse:
    response = HttpResponse(calendar_for(events, name), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, max-age=300"
    return response
