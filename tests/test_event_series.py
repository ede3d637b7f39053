"""Recurring events: the rule, occurrences made ahead, DST, edits of one or following, iCal, reminders' wording."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from icalendar import Calendar

from core.models import OutboundEmail
from events import recurrence
from events import services as events
from events.models import RSVP, Event, EventSeries
from tests import factories

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
UTC = ZoneInfo("UTC")

# Mondays and Thursdays, 18:00 London, 10 times, from Monday 1 March 2027 (DST starts Sunday 28 March).
WEEKLY = {
    "title": "Night shift huddle",
    "kind": "call",
    "date": "2027-03-01",
    "start_time": "18:00",
    "duration": "45",
    "time_zone": "Europe/London",
    "description": "Ten minutes each.",
    "link": "https://meet.example.org/huddle",
    "repeat": "weekly",
    "every": "1",
    "weekdays": ["0", "3"],
    "count": "10",
    "skip_dates": "2027-03-04",
}


def occurrences(series_of: Event) -> list[Event]:
    return list(Event.objects.filter(series=series_of.series_id).order_by("starts_at"))


def schedule(client, world, **changes) -> Event:
    client.force_login(world.facilitator)
    response = client.post("/c/commons/events/new/", {**WEEKLY, **changes})
    assert response.status_code == 302, response.content.decode()[:3000]
    return Event.objects.get(pk=int(response["Location"].rstrip("/").rsplit("/", 1)[1]))


def test_a_weekly_series_makes_each_occurrence_its_own_event_at_the_same_local_time_across_dst(client, world):
    first = schedule(client, world)
    rows = occurrences(first)
    days = [e.occurrence_date for e in rows]
    # 10 dates of the rule, less the skipped Thursday 4 March.
    assert days == [
        date(2027, 3, 1),
        date(2027, 3, 8),
        date(2027, 3, 11),
        date(2027, 3, 15),
        date(2027, 3, 18),
        date(2027, 3, 22),
        date(2027, 3, 25),
        date(2027, 3, 29),
        date(2027, 4, 1),
    ]
    # 18:00 on the London clock before and after the clocks go forward: 18:00 UTC, then 17:00 UTC.
    assert {e.starts_at.astimezone(LONDON).time() for e in rows} == {time(18, 0)}
    assert rows[0].starts_at.astimezone(UTC).hour == 18 and rows[-1].starts_at.astimezone(UTC).hour == 17
    assert all(e.ends_at - e.starts_at == timedelta(minutes=45) for e in rows)
    assert len({e.uid for e in rows}) == len(rows) and all(e.link == WEEKLY["link"] for e in rows)
    page = client.get(first.get_absolute_url()).content.decode()
    assert "Every week on Monday and Thursday, 10 times" in page
    assert "Cancel this occurrence" in page
    # Each occurrence answers on its own.
    events.rsvp(world.member, rows[1], "going")
    assert [e.rsvps.count() for e in rows[:3]] == [0, 1, 0]


def test_a_monthly_series_on_the_last_weekday_with_an_end_date(client, world):
    first = schedule(
        client,
        world,
        **{
            "date": "2027-01-29",
            "repeat": "monthly",
            "month_week": "-1",
            "weekdays": [],
            "count": "",
            "end_date": "2027-06-30",
            "skip_dates": "",
        },
    )
    assert [e.occurrence_date for e in occurrences(first)] == [
        date(2027, 1, 29),
        date(2027, 2, 26),
        date(2027, 3, 26),
        date(2027, 4, 30),
    ]  # 92 days ahead of the first; the beat adds May and June later
    assert events.extend_series(date(2027, 4, 1)) == 2
    assert events.extend_series(date(2027, 4, 1)) == 0
    assert occurrences(first)[-1].occurrence_date == date(2027, 6, 25)
    first.series.refresh_from_db()
    assert first.series.made_until == date.max  # all made: the daily beat skips it from now on
    assert first.series.rule_text == "Monthly on the last Friday, until 30 Jun 2027"


def test_occurrences_are_made_92_days_ahead_and_extended_daily_once(client, world):
    first = schedule(client, world, count="", end_date="2028-02-28", weekdays=["0"], skip_dates="")
    assert occurrences(first)[-1].occurrence_date == date(2027, 5, 31)  # the last Monday within 92 days
    made = len(occurrences(first))
    assert events.extend_series(date(2027, 3, 8)) == 1  # one more Monday comes into the window
    assert events.extend_series(date(2027, 3, 8)) == 0  # a second beat that day makes nothing
    assert len(occurrences(first)) == made + 1
    with pytest.raises(IntegrityError), transaction.atomic():
        Event.objects.create(
            community=world.public,
            title="x",
            starts_at=first.starts_at,
            ends_at=first.ends_at,
            uid="dup@test",
            series=first.series,
            occurrence_date=first.occurrence_date,
        )
    from events.tasks import extend_series

    assert extend_series("2027-03-09") == 0
    assert settings.CELERY_BEAT_SCHEDULE["extend-series"]["task"] == "events.extend_series"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"weekdays": ["1"]}, "weekdays", "The first date is a Monday: tick it, or move the date."),
        ({"count": ""}, "count", "Say when the series ends"),
        ({"end_date": "2027-06-01"}, "count", "Choose one: an end date or a number of times."),
        ({"count": "", "end_date": "2030-03-02"}, "end_date", "at most 3 years"),
        ({"count": "", "end_date": "2026-01-01"}, "end_date", "must end after its first date"),
        (
            {"count": "", "end_date": "2029-12-31", "weekdays": ["0", "1", "2", "3"]},
            "end_date",
            "more than 200 occurrences",
        ),
        ({"count": "201"}, "count", "less than or equal to 200"),
        ({"every": "0"}, "every", "greater than or equal to 1"),
        ({"skip_dates": "2027-03-04\nnext tuesday"}, "skip_dates", "Date 2: write it as year-month-day"),
        ({"repeat": "monthly", "month_week": "2"}, "month_week", "not the second Monday"),
        ({"repeat": "daily"}, "repeat", "Select a valid choice"),
        ({"weekdays": ["9"]}, "weekdays", "Select a valid choice"),
    ],
)
def test_a_bad_rule_is_refused_and_the_form_keeps_what_was_typed(client, world, changes, field, message):
    client.force_login(world.facilitator)
    html = client.post("/c/commons/events/new/", {**WEEKLY, **changes}).content.decode()
    assert message in html.replace("&#x27;", "'")
    assert 'value="Night shift huddle"' in html and "Ten minutes each." in html
    for value in changes.values():
        if isinstance(value, str) and value and field != "repeat":
            assert value.split("\n")[-1] in html
    assert not Event.objects.exists() and not EventSeries.objects.exists()


def test_cancelling_an_occurrence_skips_its_date_and_tells_those_going(client, world):
    first = schedule(client, world)
    second = occurrences(first)[1]
    events.rsvp(world.member, second, "going")
    client.post(f"/c/commons/events/{second.pk}/cancel/")
    second.refresh_from_db()
    assert second.is_cancelled
    assert "2027-03-08" in second.series.skip_dates
    assert OutboundEmail.objects.filter(kind="event.cancelled", to=world.member.email).count() == 1
    # The beat never remakes a skipped date.
    events.extend_series(date(2027, 3, 1))
    assert Event.objects.filter(series=first.series, occurrence_date=date(2027, 3, 8)).count() == 1


def edit(client, event: Event, **changes):
    form = {
        **WEEKLY,
        "date": event.occurrence_date.isoformat(),
        "count": "",
        "end_date": "2027-04-01",
        "skip_dates": "",
        **changes,
    }
    response = client.post(f"/c/commons/events/{event.pk}/edit/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    return client.get(response["Location"]).content.decode()


def test_editing_this_occurrence_only_keeps_answers_unless_its_time_changes(client, world):
    first = schedule(client, world)
    rows = occurrences(first)
    for row in rows[1:3]:
        events.rsvp(world.member, row, "going")
    page = edit(client, rows[1], scope="this", title="Huddle with a guest")
    assert "This occurrence is updated" in page and "changed on its own" in page
    rows = occurrences(first)
    assert [r.title for r in rows[:3]] == ["Night shift huddle", "Huddle with a guest", "Night shift huddle"]
    assert rows[1].detached and rows[1].rsvps.count() == 1
    # Moving it to 19:00 clears the answers (they were for 18:00) and tells who answered.
    edit(client, rows[1], scope="this", start_time="19:00")
    rows = occurrences(first)
    assert rows[1].starts_at.astimezone(LONDON).time() == time(19, 0)
    assert rows[1].rsvps.count() == 0 and rows[2].rsvps.count() == 1
    mail = OutboundEmail.objects.get(kind="event.moved", to=world.member.email)
    assert "answer was cleared" in mail.body_text and "19:00" in mail.body_text


def test_editing_this_and_following_splits_the_series_and_keeps_answers_where_the_time_stays(client, world):
    first = schedule(client, world)
    rows = occurrences(first)
    third, fifth = rows[2], rows[4]  # Thu 11 and Thu 18 March
    events.rsvp(world.member, fifth, "going")
    events.rsvp(world.owner, rows[0], "maybe")
    page = edit(client, third, scope="following", title="Huddle (new format)", weekdays=["0", "3"])
    assert "This and the following occurrences are updated." in page
    rows = {e.occurrence_date: e for e in Event.objects.filter(cancelled_at__isnull=True)}
    old, new = EventSeries.objects.order_by("pk")
    assert old.until == date(2027, 3, 8) and old.count is None
    assert rows[date(2027, 3, 1)].series == old and rows[date(2027, 3, 1)].rsvps.count() == 1
    assert rows[date(2027, 3, 11)].series == new and rows[date(2027, 3, 11)].title == "Huddle (new format)"
    assert rows[date(2027, 3, 18)].pk == fifth.pk and rows[date(2027, 3, 18)].rsvps.get().user == world.member
    assert not OutboundEmail.objects.filter(kind="event.moved").exists()
    # Following from the 18th, Thursdays only at 19:00: Monday the 22nd goes, the 18th moves.
    edit(client, rows[date(2027, 3, 18)], scope="following", weekdays=["3"], start_time="19:00")
    left = Event.objects.filter(cancelled_at__isnull=True, occurrence_date__gte=date(2027, 3, 18))
    assert sorted(e.occurrence_date for e in left) == [date(2027, 3, 18), date(2027, 3, 25), date(2027, 4, 1)]
    assert RSVP.objects.filter(event__pk=fifth.pk).count() == 0
    assert OutboundEmail.objects.filter(kind="event.moved", to=world.member.email).count() == 1


def test_edit_form_offers_the_scope_and_the_rule_and_needs_a_rule_for_following(client, world):
    first = schedule(client, world)
    client.force_login(world.facilitator)
    html = client.get(f"/c/commons/events/{first.pk}/edit/").content.decode()
    assert "This and following occurrences" in html and 'name="repeat"' in html
    bad = {**WEEKLY, "scope": "following", "repeat": "", "title": "Typed title"}
    html = client.post(f"/c/commons/events/{first.pk}/edit/", bad).content.decode()
    assert "Choose how the following occurrences repeat." in html and 'value="Typed title"' in html
    single = factories.event(world.facilitator, world.public, kind="call", link="https://x.example", title="One-off")
    html = client.get(f"/c/commons/events/{single.pk}/edit/").content.decode()
    assert 'name="repeat"' not in html and 'name="scope"' not in html


def test_the_feed_sends_one_vevent_per_series_with_rrule_exdate_and_overrides(client, world):
    first = schedule(client, world, date=(timezone.now() + timedelta(days=7)).date().isoformat(), weekdays=[])
    rows = occurrences(first)
    events.cancel_occurrence(world.facilitator, rows[2])
    events.edit_occurrence(
        world.facilitator,
        rows[3],
        fields={"title": "Guest huddle", "starts_at": rows[3].starts_at, "ends_at": rows[3].ends_at},
        questions=[],
    )
    single = factories.event(world.facilitator, world.public, kind="call", link="https://x.example", title="One-off")
    cal = Calendar.from_ical(client.get("/c/commons/events/feed.ics").content)
    items = list(cal.walk("VEVENT"))
    series = first.series
    series.refresh_from_db()
    main = [i for i in items if "RRULE" in i]
    assert len(main) == 1 and str(main[0]["uid"]) == series.uid
    overrides = [i for i in items if "RECURRENCE-ID" in i]
    assert [str(i["summary"]) for i in overrides] == ["Guest huddle"]
    assert str(overrides[0]["uid"]) == series.uid
    assert overrides[0].decoded("recurrence-id") == recurrence.local_start(series, rows[3].occurrence_date)
    assert str(main[0].decoded("dtstart").tzinfo) == "Europe/London"
    assert [str(i["summary"]) for i in items if "RRULE" not in i and "RECURRENCE-ID" not in i] == ["One-off"]
    assert str(single.uid) in cal.to_ical().decode()
    # What a calendar app computes from RRULE and EXDATE is what the site has.
    start = main[0].decoded("dtstart")
    rule = rrulestr(main[0]["rrule"].to_ical().decode(), dtstart=start)
    exdates = {d.dt for d in main[0]["exdate"].dts}
    expanded = [d.date() for d in rule if d not in exdates]
    assert expanded == recurrence.occurrence_dates(series)
    assert expanded == [e.occurrence_date for e in occurrences(first) if not e.is_cancelled][: len(expanded)]
    # One occurrence's own .ics is that occurrence alone.
    own = Calendar.from_ical(client.get(f"/c/commons/events/{rows[1].pk}/event.ics").content)
    assert [str(i["uid"]) for i in own.walk("VEVENT")] == [rows[1].uid]


@pytest.mark.parametrize("times", ["2", "40"])
def test_the_calendar_and_feed_with_a_series_cost_the_same_few_queries_whatever_its_length(
    client, world, django_assert_max_num_queries, times
):
    schedule(client, world, date=(timezone.now() + timedelta(days=1)).date().isoformat(), weekdays=[], count=times)
    client.force_login(world.member)
    client.get("/c/commons/events/")
    # user (the session from the cache), community with membership, upcoming with series, past, the bell
    with django_assert_max_num_queries(5):
        page = client.get("/c/commons/events/")
    assert page.content.decode().count(">Repeats<") == min(int(times), 14)  # a weekly series, 92 days from its first
    with django_assert_max_num_queries(3):
        feed = client.get("/c/commons/events/feed.ics")
    assert feed.content.count(b"RRULE:") == 1


@pytest.mark.parametrize(
    ("ahead", "said"),
    [
        (timedelta(seconds=59), "in less than a minute"),
        (timedelta(seconds=60), "in 1 minute"),
        (timedelta(minutes=2), "in 2 minutes"),
        (timedelta(minutes=59, seconds=29), "in 59 minutes"),
        (timedelta(minutes=59, seconds=31), "in 1 hour"),
        (timedelta(minutes=60), "in 1 hour"),
        (timedelta(minutes=61), "in 1 hour 1 minute"),
        (timedelta(hours=5, minutes=59), "in 5 hours 59 minutes"),
        (timedelta(hours=6), "today at 18:00"),  # now is 12:00 London (summer)
        (timedelta(hours=11, minutes=59), "today at 23:59"),
        (timedelta(hours=12), "tomorrow at 00:00"),
        (timedelta(hours=30), "tomorrow at 18:00"),
        (timedelta(hours=35, minutes=59), "tomorrow at 23:59"),
        (timedelta(hours=36), "on Sat 7 Aug at 00:00"),
    ],
)
def test_time_left_wording_at_its_boundaries(ahead, said):
    now = datetime(2027, 8, 5, 11, 0, tzinfo=UTC)  # 12:00 in London (BST)
    assert events.time_left(now + ahead, now, "Europe/London") == said
    assert "an hour" not in events.time_left(now + ahead, now, "Europe/London")


def test_moving_the_following_occurrences_to_another_day_calls_off_the_old_dates(client, world):
    first = schedule(client, world, weekdays=["3"], date="2027-03-04", skip_dates="")  # Thursdays
    rows = occurrences(first)
    events.rsvp(world.member, rows[2], "going")  # Thu 18 March
    client.force_login(world.facilitator)
    form = {**WEEKLY, "scope": "following", "date": "2027-03-12", "weekdays": ["4"], "count": "", "skip_dates": ""}
    response = client.post(f"/c/commons/events/{rows[1].pk}/edit/", {**form, "end_date": "2027-04-30"})
    moved_to = Event.objects.get(occurrence_date=date(2027, 3, 12))
    assert response["Location"] == moved_to.get_absolute_url()
    assert "no longer on the new dates were called off" in client.get(response["Location"]).content.decode()
    kept = Event.objects.filter(cancelled_at__isnull=True).order_by("starts_at")
    assert [e.occurrence_date.weekday() for e in kept] == [3] + [4] * 8  # the 4th, then Fridays to 30 April
    assert Event.objects.get(pk=rows[2].pk).is_cancelled  # someone was going: cancelled, and told
    assert not Event.objects.filter(pk=rows[3].pk).exists()  # nobody answered: gone
    assert OutboundEmail.objects.filter(kind="event.cancelled", to=world.member.email).count() == 1
    # Not back onto or before the previous occurrence.
    later = Event.objects.get(occurrence_date=date(2027, 3, 19))
    html = client.post(f"/c/commons/events/{later.pk}/edit/", {**form, "end_date": "2027-04-30"}).content.decode()
    assert "must start after the previous one, on 12 March 2027" in html and 'value="2027-03-12"' in html


def test_a_monthly_rule_reads_back_the_same_dates_from_its_rrule():
    series = EventSeries(
        frequency="monthly",
        month_week=2,
        start_date=date(2027, 1, 12),
        start_time=time(7, 30),
        time_zone="America/New_York",
        count=5,
        skip_dates=[],
    )
    from icalendar import vRecur

    text = vRecur(recurrence.ical_rule(series)).to_ical().decode()
    assert text.startswith("FREQ=MONTHLY") and "BYDAY=2TU" in text
    start = recurrence.local_start(series, series.start_date)
    assert [d.date() for d in rrulestr(text, dtstart=start)] == recurrence.occurrence_dates(series)
    assert recurrence.occurrence_dates(series)[-1] == date(2027, 5, 11)


def test_a_series_survives_export_and_restore_with_its_rule_skips_and_edited_occurrences(client, world, tmp_path):
    import portability.community
    from communities.models import Community
    from discussions.models import Post

    first = schedule(client, world, date=(timezone.now() + timedelta(days=7)).date().isoformat(), weekdays=[])
    rows = occurrences(first)
    events.cancel_occurrence(world.facilitator, rows[2])
    events.edit_occurrence(
        world.facilitator,
        rows[3],
        fields={"title": "Guest huddle", "starts_at": rows[3].starts_at, "ends_at": rows[3].ends_at},
        questions=[],
    )
    series = EventSeries.objects.get()
    rule_fields = [f.name for f in EventSeries._meta.fields if f.name not in ("id", "community", "created_by")]
    rule_before = {name: getattr(series, name) for name in rule_fields}

    def shape() -> list[tuple]:
        return [
            (e.series.uid, e.occurrence_date, e.detached, e.is_cancelled, e.title)
            for e in Event.objects.filter(community__slug="commons").select_related("series").order_by("starts_at")
        ]

    def feed_rule() -> tuple[str, list]:
        cal = Calendar.from_ical(client.get("/c/commons/events/feed.ics").content)
        [main] = [i for i in cal.walk("VEVENT") if "RRULE" in i]
        return main["rrule"].to_ical().decode(), sorted(d.dt for d in main["exdate"].dts)

    occurrences_before, feed_before = shape(), feed_rule()
    path = tmp_path / "commons.zip"
    with path.open("wb") as out:
        document = portability.community.write_zip(world.public, out)
    assert [s["uid"] for s in document["event_series"]] == [series.uid]
    Post.objects.filter(thread__community=world.public).update(parent=None)
    world.public.delete()
    assert not EventSeries.objects.exists()

    portability.community.restore(path)
    restored = EventSeries.objects.get()
    assert restored.community == Community.objects.get(slug="commons")
    assert {name: getattr(restored, name) for name in rule_fields} == rule_before
    assert shape() == occurrences_before
    assert feed_rule() == feed_before
    # The beat carries on from where the series was made to, without doubles.
    events.extend_series(timezone.now().date())
    assert shape() == occurrences_before


def test_a_file_written_before_series_were_exported_still_restores_its_events_as_single_ones(world, tmp_path):
    import json
    import zipfile

    import portability.community
    from discussions.models import Post

    first = factories.event(world.facilitator, world.public, kind="call", link="https://x.example", title="One-off")
    path = tmp_path / "commons.zip"
    with path.open("wb") as out:
        document = portability.community.write_zip(world.public, out)
    old = {k: v for k, v in document.items() if k != "event_series"}
    old["events"] = [
        {k: v for k, v in e.items() if k not in ("series", "occurrence_date", "detached")} for e in old["events"]
    ]
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("community.json", json.dumps(old))
    Post.objects.filter(thread__community=world.public).update(parent=None)
    world.public.delete()
    portability.community.restore(path)
    again = Event.objects.get(uid=first.uid)
    assert again.title == "One-off" and again.series is None and not again.detached
