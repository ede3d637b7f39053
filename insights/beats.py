"""Missed beats: what the community declared it does regularly, checked against what happened.

* a **digest day** is missed when its last weekday passed (UTC days) and no
  facilitator said it went out on or after that day;
* a **hosted chat series** misses each occurrence that ended, was not
  cancelled and has no message in its chat beyond the host's welcome and
  planned questions (nobody turned up, or the chat never opened);
* a **repertoire review** is missed when no resource of the community was
  reviewed for its interval (counted from the beat's declaration at the earliest);
* an **other beat** is missed when its interval passed since it was last marked held
  (or declared).

Occurrences older than ``LOOKBACK`` are not reported: a rhythm is about now.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Exists, OuterRef

from communities.models import Community
from discussions.models import Post
from events.models import Event
from insights.models import Beat
from insights.queries import last_review_at

LOOKBACK = datetime.timedelta(days=90)


@dataclass
class Missed:
    beat: Beat
    what: str
    detail: str
    due: datetime.datetime


def add_months(moment: datetime.datetime, months: int) -> datetime.datetime:
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    for day in (moment.day, 30, 29, 28):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def describe(beat: Beat) -> str:
    """The beat as the rhythm list says it: "Digest day: every Tuesday"."""
    if beat.kind == Beat.Kind.DIGEST and beat.weekday is not None:
        return f"Digest day: every {Beat.Weekday(beat.weekday).label}"
    if beat.kind == Beat.Kind.SERIES and beat.series is not None:
        return f"Hosted chat series: {beat.series.title} ({beat.series.rule_text})"
    if beat.kind == Beat.Kind.REVIEW:
        n = beat.every_months or 0
        return f"Repertoire review: a resource reviewed at least every {n} month{'s' if n != 1 else ''}"
    n = beat.every_days or 0
    return f"{beat.label}: at least every {n} day{'s' if n != 1 else ''}"


def last_weekday_before(today: datetime.date, weekday: int) -> datetime.date:
    """The latest day strictly before ``today`` falling on ``weekday`` (0 = Monday)."""
    back = (today.weekday() - weekday - 1) % 7 + 1
    return today - datetime.timedelta(days=back)


def _day_start(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)


def rhythm(community: Community) -> list[Beat]:
    return list(Beat.objects.filter(community_id=community.pk).select_related("series"))


def missed_beats(community: Community, now: datetime.datetime, beats: list[Beat] | None = None) -> list[Missed]:
    """Every missed beat, oldest first: one query for the beats, at most one for chats and one for reviews."""
    beats = rhythm(community) if beats is None else beats
    missed: list[Missed] = []
    today = now.astimezone(datetime.UTC).date()
    series_beats = {b.series_id: b for b in beats if b.kind == Beat.Kind.SERIES and b.series_id}
    if series_beats:
        earliest = min(b.created_at for b in series_beats.values())
        talk = Post.objects.filter(
            thread_id=OuterRef("thread_id"), number__gt=1, state=Post.State.VISIBLE, chat_question__isnull=True
        )
        ended = (
            Event.objects.filter(
                series_id__in=list(series_beats),
                cancelled_at__isnull=True,
                ends_at__lte=now,
                ends_at__gte=max(earliest, now - LOOKBACK),
            )
            .filter(~Exists(talk))
            .order_by("starts_at")
            .values_list("series_id", "title", "starts_at")
        )
        for series_id, title, starts_at in ended:
            beat = series_beats[series_id]
            if starts_at >= beat.created_at - datetime.timedelta(days=1):
                missed.append(
                    Missed(
                        beat, describe(beat), f"{title} on {starts_at:%d %b %Y}: no one wrote in the chat", starts_at
                    )
                )
    reviews = [b for b in beats if b.kind == Beat.Kind.REVIEW and b.every_months]
    if reviews:
        last = last_review_at(community)
        for beat in reviews:
            since = max(filter(None, (last, beat.created_at)))
            due = add_months(since, beat.every_months or 1)
            if now > due:
                said = f"last review {last:%d %b %Y}" if last else "no resource reviewed yet"
                missed.append(Missed(beat, describe(beat), f"Review due since {due:%d %b %Y} ({said})", due))
    for beat in beats:
        if beat.kind == Beat.Kind.DIGEST and beat.weekday is not None:
            due_day = last_weekday_before(today, beat.weekday)
            if beat.created_at.astimezone(datetime.UTC).date() > due_day:
                continue
            held = beat.last_held_at is not None and beat.last_held_at.astimezone(datetime.UTC).date() >= due_day
            if not held:
                missed.append(
                    Missed(beat, describe(beat), f"Not marked as sent for {due_day:%A %d %b %Y}", _day_start(due_day))
                )
        elif beat.kind == Beat.Kind.CUSTOM and beat.every_days:
            since = beat.last_held_at or beat.created_at
            due = since + datetime.timedelta(days=beat.every_days)
            if now > due:
                said = f"last held {since:%d %b %Y}" if beat.last_held_at else "never marked held"
                missed.append(Missed(beat, describe(beat), f"Due since {due:%d %b %Y} ({said})", due))
    missed.sort(key=lambda m: m.due)
    return missed
