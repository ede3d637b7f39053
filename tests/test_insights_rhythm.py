"""The declared rhythm and its missed beats: explicit times, the form's bad and hostile input, who may use it."""

from __future__ import annotations

import datetime
from datetime import timedelta

import pytest
from django.utils import timezone

from communities.models import AuditEntry
from discussions.models import Post
from events.models import Event, EventQuestion, EventSeries
from insights import services
from insights.beats import last_weekday_before, missed_beats
from insights.models import Beat
from resources.models import ResourceReview
from tests import factories

pytestmark = pytest.mark.django_db

RHYTHM = "/c/commons/facilitate/rhythm/"


def at(day: str, hour: int = 12) -> datetime.datetime:
    return datetime.datetime.fromisoformat(day).replace(hour=hour, tzinfo=datetime.UTC)


def beat(world, **fields) -> Beat:
    created = fields.pop("created_at", at("2026-11-02"))
    return Beat.objects.create(community=world.public, created_by=world.facilitator, created_at=created, **fields)


def whats(world, now) -> list[str]:
    return [m.detail for m in missed_beats(world.public, now)]


def test_last_weekday_before_is_strictly_before_today():
    tuesday = datetime.date(2026, 11, 10)
    assert last_weekday_before(tuesday, 1) == datetime.date(2026, 11, 3)
    assert last_weekday_before(tuesday + timedelta(days=1), 1) == tuesday
    assert last_weekday_before(tuesday, 0) == datetime.date(2026, 11, 9)


def test_digest_day_is_missed_once_its_day_passed_unmarked(world):
    b = beat(world, kind=Beat.Kind.DIGEST, weekday=1)  # Tuesdays; declared Monday 2 November
    assert whats(world, at("2026-11-03")) == []  # the day itself: not missed yet
    assert whats(world, at("2026-11-05")) == ["Not marked as sent for Tuesday 03 Nov 2026"]
    services.mark_held(world.facilitator, world.public, b.pk, at=at("2026-11-03", 17))
    assert whats(world, at("2026-11-05")) == []
    assert whats(world, at("2026-11-10")) == []  # next Tuesday not over yet
    assert whats(world, at("2026-11-11")) == ["Not marked as sent for Tuesday 10 Nov 2026"]


def test_a_beat_declared_after_its_day_is_not_missed_that_week(world):
    beat(world, kind=Beat.Kind.DIGEST, weekday=0, created_at=at("2026-11-03"))  # Mondays, declared a Tuesday
    assert whats(world, at("2026-11-05")) == []
    assert len(whats(world, at("2026-11-10"))) == 1


def test_custom_beat_is_missed_after_its_interval(world):
    b = beat(world, kind=Beat.Kind.CUSTOM, label="Newcomers' call", every_days=7, created_at=at("2026-11-01"))
    assert whats(world, at("2026-11-08", 11)) == []
    assert whats(world, at("2026-11-09")) == ["Due since 08 Nov 2026 (never marked held)"]
    services.mark_held(world.facilitator, world.public, b.pk, at=at("2026-11-08"))
    assert whats(world, at("2026-11-09")) == []
    assert whats(world, at("2026-11-16")) == ["Due since 15 Nov 2026 (last held 08 Nov 2026)"]


def test_review_beat_is_missed_when_nothing_was_reviewed_for_its_months(world):
    beat(world, kind=Beat.Kind.REVIEW, every_months=2, created_at=at("2026-06-01"))
    assert whats(world, at("2026-07-31")) == []
    assert whats(world, at("2026-08-02")) == ["Review due since 01 Aug 2026 (no resource reviewed yet)"]
    r = factories.resource(world.facilitator, world.public, url="https://example.org/a")
    ResourceReview.objects.create(
        resource=r,
        reviewer=world.facilitator,
        checked="Links",
        next_review_by=datetime.date(2027, 1, 1),
        created_at=at("2026-07-15"),
    )
    assert whats(world, at("2026-08-02")) == []
    assert whats(world, at("2026-09-16")) == ["Review due since 15 Sep 2026 (last review 15 Jul 2026)"]


def test_a_review_in_another_community_does_not_count(world):
    beat(world, kind=Beat.Kind.REVIEW, every_months=1, created_at=at("2026-06-01"))
    r = factories.resource(world.owner, world.private, url="https://example.org/b")
    ResourceReview.objects.create(
        resource=r,
        reviewer=world.owner,
        checked="x",
        next_review_by=datetime.date(2027, 1, 1),
        created_at=at("2026-06-20"),
    )
    assert len(whats(world, at("2026-07-05"))) == 1


def chat_series(world) -> EventSeries:
    return EventSeries.objects.create(
        community=world.public,
        uid="s1@test",
        frequency="weekly",
        weekdays="3",
        start_date=datetime.date(2026, 11, 5),
        start_time=datetime.time(18),
        duration=60,
        count=6,
        title="Thursday chat",
        kind="chat",
    )


def occurrence(world, series, day: str, *, talk: bool = False, chat: bool = True, cancelled: bool = False) -> Event:
    starts = at(day, 18)
    e = factories.event(world.facilitator, world.public, title=f"Thursday chat {day}")
    Event.objects.filter(pk=e.pk).update(
        series=series,
        occurrence_date=starts.date(),
        starts_at=starts,
        ends_at=starts + timedelta(hours=1),
        cancelled_at=starts - timedelta(days=1) if cancelled else None,
    )
    if chat:
        thread = factories.thread(world.facilitator, world.public, title=e.title, kind="chat")
        question = factories.replies(thread, 1, by=world.facilitator, body="**Q1.** How do you start?")[0]
        EventQuestion.objects.create(event=e, position=1, text="How do you start?", minute=5, post=question)
        if talk:
            factories.replies(thread, 1, by=world.member, body="With a cup of tea.")
        Event.objects.filter(pk=e.pk).update(thread=thread)
    return e


def test_series_occurrence_with_no_one_writing_is_a_missed_beat(world):
    series = chat_series(world)
    beat(world, kind=Beat.Kind.SERIES, series=series, created_at=at("2026-11-01"))
    occurrence(world, series, "2026-11-05", talk=True)  # held: a member wrote
    occurrence(world, series, "2026-11-12")  # only the host's welcome and question
    occurrence(world, series, "2026-11-19", chat=False)  # the chat never opened
    occurrence(world, series, "2026-11-26", cancelled=True)  # cancelled on purpose: not missed
    occurrence(world, series, "2026-12-03")  # not over yet
    now = at("2026-12-03", 18)
    assert whats(world, now) == [
        "Thursday chat 2026-11-12 on 12 Nov 2026: no one wrote in the chat",
        "Thursday chat 2026-11-19 on 19 Nov 2026: no one wrote in the chat",
    ]
    # A deleted reply is no record of a chat held.
    Post.objects.filter(body="With a cup of tea.").update(state=Post.State.DELETED, state_changed_at=now)
    assert len(whats(world, now)) == 3


def test_dashboard_shows_missed_beats(client, world):
    beat(
        world,
        kind=Beat.Kind.CUSTOM,
        label="Monthly show and tell",
        every_days=30,
        created_at=timezone.now() - timedelta(days=40),
    )
    client.force_login(world.facilitator)
    html = client.get("/c/commons/facilitate/").content.decode()
    assert "Monthly show and tell: at least every 30 days" in html
    assert "never marked held" in html


# --- The form ----------------------------------------------------------------------------------------


def test_facilitator_declares_a_digest_day_and_it_is_audited(client, world):
    client.force_login(world.facilitator)
    response = client.post(RHYTHM, {"kind": "digest", "weekday": "1"})
    assert response.status_code == 302
    b = Beat.objects.get(community=world.public)
    assert (b.kind, b.weekday, b.series_id, b.every_days) == ("digest", 1, None, None)
    assert AuditEntry.objects.filter(community=world.public, action="rhythm.add").exists()
    html = client.get(RHYTHM).content.decode()
    assert "Digest day: every Tuesday" in html


def test_only_the_kinds_own_field_is_kept(client, world):
    client.force_login(world.facilitator)
    client.post(RHYTHM, {"kind": "review", "every_months": "3", "weekday": "2", "every_days": "5"})
    b = Beat.objects.get()
    assert (b.every_months, b.weekday, b.every_days) == (3, None, None)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "digest"}, "Choose the day the digest goes out."),
        ({"kind": "series"}, "Choose the series of hosted chats."),
        ({"kind": "review"}, "Say how many months may pass between reviews."),
        ({"kind": "custom", "every_days": "14", "label": "   "}, "Give the beat a name."),
        ({"kind": "custom", "label": "Show and tell"}, "Say how many days may pass"),
        ({"kind": "evil", "label": "Show and tell"}, "Select a valid choice"),
        ({"kind": "digest", "weekday": "9", "label": "Show and tell"}, "Select a valid choice"),
        ({"kind": "custom", "every_days": "0", "label": "Show and tell"}, "greater than or equal to 1"),
        ({"kind": "custom", "every_days": "-5", "label": "Show and tell"}, "greater than or equal to 1"),
        ({"kind": "custom", "every_days": "99999", "label": "Show and tell"}, "less than or equal to 366"),
        ({"kind": "custom", "every_days": "1e3", "label": "Show and tell"}, "Enter a whole number"),
        ({"kind": "review", "every_months": "25", "label": "Show and tell"}, "less than or equal to 24"),
        ({"kind": "custom", "every_days": "7", "label": "x" * 121}, "at most 120 characters"),
        ({"kind": "custom", "every_days": "7", "label": "Show\x00 and tell"}, "Null characters are not allowed"),
    ],
)
def test_invalid_beats_are_refused_and_keep_what_was_typed(client, world, data, message):
    client.force_login(world.facilitator)
    response = client.post(RHYTHM, data)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert not Beat.objects.exists()
    if data.get("label", "").strip() and "\x00" not in data["label"]:
        assert f'value="{data["label"]}"' in html
    for name in ("every_days", "every_months"):
        if name in data:
            assert f'value="{data[name]}"' in html


def test_a_series_of_another_community_is_not_a_choice(client, world):
    other = EventSeries.objects.create(
        community=world.private,
        uid="s2@test",
        frequency="weekly",
        weekdays="1",
        start_date=datetime.date(2026, 11, 3),
        start_time=datetime.time(9),
        duration=30,
        count=3,
        title="Secret circle chat",
        kind="chat",
    )
    client.force_login(world.facilitator)  # Fern facilitates the private community too, but not through this page
    page = client.get(RHYTHM).content.decode()
    assert "Secret circle chat" not in page
    response = client.post(RHYTHM, {"kind": "series", "series": str(other.pk)})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not Beat.objects.exists()


def test_a_label_is_kept_to_one_line_of_display_text(client, world):
    client.force_login(world.facilitator)
    response = client.post(RHYTHM, {"kind": "custom", "every_days": "7", "label": "Show\nand <b>tell</b>\u202e"})
    if response.status_code == 302:
        label = Beat.objects.get().label
        assert "\n" not in label and "\u202e" not in label
        html = client.get(RHYTHM).content.decode()
        assert "<b>tell</b>" not in html
    else:
        assert response.status_code == 400


@pytest.mark.parametrize("who", ["member", "outsider", "other_facilitator"])
def test_people_who_do_not_facilitate_get_404_and_change_nothing(client, world, who):
    b = beat(world, kind=Beat.Kind.CUSTOM, label="Call", every_days=7)
    client.force_login(getattr(world, who))
    assert client.post(RHYTHM, {"kind": "digest", "weekday": "1"}).status_code == 404
    for action in ("held", "remove"):
        assert client.post(f"{RHYTHM}{b.pk}/{action}/").status_code == 404
    assert Beat.objects.count() == 1 and Beat.objects.get().last_held_at is None


def test_signed_out_post_goes_to_login(client, world):
    response = client.post(RHYTHM, {"kind": "digest", "weekday": "1"})
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert not Beat.objects.exists()


def test_forms_need_the_csrf_token(world):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(world.facilitator)
    assert client.post(RHYTHM, {"kind": "digest", "weekday": "1"}).status_code == 403
    assert not Beat.objects.exists()


def test_beat_actions_stay_within_their_community(client, world):
    elsewhere = Beat.objects.create(community=world.private, kind=Beat.Kind.CUSTOM, label="Private", every_days=7)
    mine = beat(world, kind=Beat.Kind.CUSTOM, label="Call", every_days=7)
    client.force_login(world.facilitator)
    assert client.post(f"{RHYTHM}{elsewhere.pk}/remove/").status_code == 404
    assert client.post(f"{RHYTHM}{mine.pk}/explode/").status_code == 404
    assert client.get(f"{RHYTHM}{mine.pk}/remove/").status_code == 405
    assert Beat.objects.count() == 2
    assert client.post(f"{RHYTHM}{mine.pk}/held/").status_code == 302
    assert Beat.objects.get(pk=mine.pk).last_held_at is not None
    assert client.post(f"{RHYTHM}{mine.pk}/remove/").status_code == 302
    assert list(Beat.objects.values_list("pk", flat=True)) == [elsewhere.pk]


def test_a_series_beat_cannot_be_marked_held_by_hand(client, world):
    series = chat_series(world)
    b = beat(world, kind=Beat.Kind.SERIES, series=series)
    client.force_login(world.facilitator)
    assert client.post(f"{RHYTHM}{b.pk}/held/").status_code == 403
    assert Beat.objects.get().last_held_at is None
