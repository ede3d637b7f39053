"""Events, RSVPs, calendars and hosted chats: scheduling, exactly-once questions, iCal, privacy."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from icalendar import Calendar

from core.models import OutboundEmail
from discussions.models import Post
from events import services as events
from events.models import RSVP, CalendarToken, Event, EventQuestion
from tests import factories

pytestmark = pytest.mark.django_db
UTC = ZoneInfo("UTC")

CHAT_FORM = {
    "title": "Pain assessment chat",
    "kind": "chat",
    "date": "2026-12-02",
    "start_time": "20:00",
    "duration": "60",
    "time_zone": "Europe/London",
    "description": "Bring a case.",
    "welcome": "Welcome all!",
    "hashtag": "painchat",
    "questions": ":05 What brought you here?\n:15 Which scale do you use?\n:30 What would you change?",
}


def make_chat(world, start: datetime, questions=((5, "Q one?"), (15, "Q two?"), (30, "Q three?"))) -> Event:
    return factories.event(
        world.facilitator,
        world.public,
        title="Hosted chat",
        starts=start,
        welcome="Hello everyone",
        questions=questions,
    )


def test_facilitator_schedules_a_hosted_chat_with_questions(client, world):
    client.force_login(world.facilitator)
    response = client.post("/c/commons/events/new/", CHAT_FORM)
    event = Event.objects.get()
    assert response.status_code == 302 and response["Location"] == event.get_absolute_url()
    assert event.starts_at == datetime(2026, 12, 2, 20, 0, tzinfo=ZoneInfo("Europe/London"))
    assert [(q.minute, q.text) for q in event.questions.all()] == [
        (5, "What brought you here?"),
        (15, "Which scale do you use?"),
        (30, "What would you change?"),
    ]
    assert event.hashtag == "#painchat"
    page = client.get("/c/commons/events/").content.decode()
    assert "Pain assessment chat" in page


def test_bad_event_input_keeps_what_was_typed(client, world):
    client.force_login(world.facilitator)
    bad = {**CHAT_FORM, "questions": "no minute here\n:90 too late", "time_zone": "Mars/Base"}
    html = client.post("/c/commons/events/new/", bad).content.decode()
    assert "start with the minute" in html and "Select a valid choice" in html
    assert "no minute here" in html
    html = client.post("/c/commons/events/new/", {**CHAT_FORM, "questions": ":90 After the end?"}).content.decode()
    assert "Every question must come before the chat ends." in html
    html = client.post("/c/commons/events/new/", {**CHAT_FORM, "kind": "call", "questions": ""}).content.decode()
    assert "A call needs its meeting link." in html
    assert not Event.objects.exists()
    client.force_login(world.member)
    assert client.post("/c/commons/events/new/", CHAT_FORM).status_code == 403


def test_chat_posts_each_question_at_its_minute_exactly_once(world):
    start = datetime(2026, 12, 2, 20, 0, tzinfo=UTC)
    event = make_chat(world, start)
    assert events.run_chats(start - timedelta(minutes=1)) == 0
    assert Event.objects.get().thread is None
    events.run_chats(start)
    event.refresh_from_db()
    assert event.thread.opening_post.body == "Hello everyone"
    assert events.run_chats(start + timedelta(minutes=5)) == 1
    assert events.run_chats(start + timedelta(minutes=5)) == 0  # a duplicated beat
    # A late runner (worker down from :06 to :40) catches up on both, once each.
    assert events.run_chats(start + timedelta(minutes=40)) == 2
    assert events.run_chats(start + timedelta(minutes=41)) == 0
    bodies = list(Post.objects.filter(thread=event.thread, depth=1).order_by("path").values_list("body", flat=True))
    assert bodies == ["**Q1.** Q one?", "**Q2.** Q two?", "**Q3.** Q three?"]
    assert EventQuestion.objects.filter(post__isnull=True).count() == 0


def test_cancellation_stops_future_questions_and_tells_those_going(client, world):
    start = datetime(2026, 12, 2, 20, 0, tzinfo=UTC)
    event = make_chat(world, start)
    events.rsvp(world.member, event, "going")
    events.rsvp(world.owner, event, "maybe")
    events.run_chats(start + timedelta(minutes=5))
    client.force_login(world.facilitator)
    client.post(f"/c/commons/events/{event.pk}/cancel/")
    assert events.run_chats(start + timedelta(minutes=40)) == 0
    assert Post.objects.filter(thread=Event.objects.get().thread, depth=1).count() == 1
    mails = OutboundEmail.objects.filter(kind="event.cancelled")
    assert [m.to for m in mails] == [world.member.email]


def test_rsvp_counts_and_reminder_once_an_hour_before(client, world):
    start = timezone.now() + timedelta(minutes=50)
    event = make_chat(world, start)
    client.force_login(world.member)
    client.post(f"/c/commons/events/{event.pk}/rsvp/", {"answer": "going"})
    client.post(f"/c/commons/events/{event.pk}/rsvp/", {"answer": "going"})
    client.force_login(world.owner)
    client.post(f"/c/commons/events/{event.pk}/rsvp/", {"answer": "maybe"})
    page = client.get(event.get_absolute_url()).content.decode()
    assert "1 going · 1 maybe" in page
    assert RSVP.objects.count() == 2
    assert events.send_reminders(timezone.now()) == 1
    assert events.send_reminders(timezone.now()) == 0
    assert OutboundEmail.objects.filter(kind="event.reminder", to=world.member.email).count() == 1
    client.force_login(world.outsider)
    assert client.post(f"/c/commons/events/{event.pk}/rsvp/", {"answer": "going"}).status_code == 403


@pytest.mark.parametrize(
    ("ahead", "said"),
    [
        (timedelta(minutes=2), "in 2 minutes"),
        (timedelta(minutes=45), "in 45 minutes"),
        (timedelta(minutes=60), "in 1 hour"),
        (timedelta(minutes=59, seconds=40), "in 1 hour"),
        (timedelta(minutes=1, seconds=10), "in 1 minute"),
        (timedelta(seconds=25), "in less than a minute"),
    ],
)
def test_a_reminder_says_the_time_actually_left_when_it_is_sent(world, ahead, said):
    # The beat that sends it may find the event any time within the hour before
    # (someone said "going" two minutes before a chat): never "in an hour" regardless.
    now = datetime(2031, 3, 4, 18, 0, tzinfo=ZoneInfo("UTC"))
    event = factories.event(
        world.facilitator, world.public, title="Night pain chat", starts=now + ahead, questions=[(0, "First?")]
    )
    RSVP.objects.create(event=event, user=world.member, answer=RSVP.Answer.GOING)
    assert events.send_reminders(now) == 1
    mail = OutboundEmail.objects.get(kind="event.reminder", to=world.member.email)
    assert mail.subject == f"{said[0].upper()}{said[1:]}: Night pain chat"
    when = event.starts_at.astimezone(ZoneInfo(world.member.time_zone)).strftime("%a %-d %b, %H:%M")
    assert f'"Night pain chat" in Ward Commons starts {said} ({when} UTC)' in mail.body_text
    assert "an hour" not in mail.subject + mail.body_text or said == "in 1 hour"


def test_time_left_reads_hours_and_minutes():
    now = datetime(2031, 3, 4, 18, 0, tzinfo=ZoneInfo("UTC"))
    assert events.time_left(now + timedelta(minutes=61), now) == "in 1 hour 1 minute"
    assert events.time_left(now + timedelta(minutes=150), now) == "in 2 hours 30 minutes"
    assert events.time_left(now + timedelta(hours=2), now) == "in 2 hours"
    assert events.time_left(now - timedelta(minutes=1), now) == "in less than a minute"


def test_ics_has_time_zone_stable_uid_and_sequence_and_cancelled_status(client, world):
    start = datetime(2026, 12, 2, 20, 0, tzinfo=ZoneInfo("Europe/London"))
    event = factories.event(
        world.facilitator,
        world.public,
        kind="call",
        title="Monthly call",
        starts=start,
        time_zone="Europe/London",
        link="https://meet.example.org/x",
    )

    def parsed():
        body = client.get(f"/c/commons/events/{event.pk}/event.ics").content
        return next(c for c in Calendar.from_ical(body).walk("VEVENT"))

    first = parsed()
    assert first.decoded("dtstart") == start
    assert str(first.decoded("dtstart").tzinfo) == "Europe/London"
    assert first["status"] == "CONFIRMED"
    events.update_event(world.facilitator, event, fields={"title": "Monthly call (moved)"}, questions=[], hosts=[])
    second = parsed()
    assert str(second["uid"]) == str(first["uid"])
    assert int(second["sequence"]) == int(first["sequence"]) + 1
    events.cancel_event(world.facilitator, event)
    third = parsed()
    assert third["status"] == "CANCELLED" and int(third["sequence"]) == int(second["sequence"]) + 1


def test_private_events_and_feeds_are_invisible_to_outsiders(client, world):
    private = factories.event(
        world.owner, world.private, title="Okapi case chat", starts=timedelta(days=3), questions=[(5, "First?")]
    )
    client.force_login(world.outsider)
    for url in [
        "/c/circle/events/",
        private.get_absolute_url(),
        f"/c/circle/events/{private.pk}/event.ics",
        "/c/circle/events/feed.ics",
        f"/c/commons/events/{private.pk}/",
    ]:
        response = client.get(url)
        assert response.status_code == 404 and b"Okapi" not in response.content, url
    client.force_login(world.member)
    assert client.get("/c/circle/events/feed.ics").status_code == 404  # feeds are fetched without cookies
    assert b"Okapi" in client.get("/c/circle/events/").content


def test_personal_feed_token_includes_private_events_and_reset_stops_the_old_one(client, world):
    factories.event(
        world.owner,
        world.private,
        kind="call",
        title="Okapi case chat",
        starts=timedelta(days=3),
        link="https://x.example",
    )
    client.force_login(world.member)
    client.post("/settings/calendar/")
    old = CalendarToken.objects.get(user=world.member).token
    client.logout()
    assert b"Okapi case chat" in client.get(f"/calendar/{old}.ics").content
    client.force_login(world.member)
    client.post("/settings/calendar/")
    client.logout()
    assert client.get(f"/calendar/{old}.ics").status_code == 404
    new = CalendarToken.objects.get(user=world.member).token
    assert new != old and client.get(f"/calendar/{new}.ics").status_code == 200
    # An outsider's feed never holds the private event.
    client.force_login(world.outsider)
    client.post("/settings/calendar/")
    client.logout()
    token = CalendarToken.objects.get(user=world.outsider).token
    assert b"Okapi" not in client.get(f"/calendar/{token}.ics").content


def test_chat_record_reads_as_sections_and_live_endpoint_sends_new_answers(client, world):
    start = timezone.now() - timedelta(minutes=20)
    event = make_chat(world, start)
    events.run_chats(timezone.now())
    event.refresh_from_db()
    q1, q2 = [q.post for q in event.questions.all()[:2]]
    from discussions import services

    services.reply(world.member, event.thread, "Mira's answer to Q1", parent=q1)
    client.force_login(world.owner)
    url = event.thread.get_absolute_url()
    import html

    page = html.unescape(client.get(url).content.decode())
    assert page.index("Q one?") < page.index("Mira's answer to Q1") < page.index("Q two?")
    assert page.count('class="chat-section"') == 2  # Q3 (minute 30) is not due yet
    newest = Post.objects.filter(thread=event.thread).order_by("-pk").first().pk
    assert client.get(f"{url}live/?after={newest}").status_code == 204
    answer = services.reply(world.member, event.thread, "A second answer", parent=q2)
    live = client.get(f"{url}live/?after={newest}")
    body = live.content.decode()
    assert live.status_code == 200 and "A second answer" in body
    assert f'hx-swap-oob="beforeend:#answers-{q2.pk}"' in body
    assert f"after={answer.pk}" in body
    assert "answer to Q1" not in body  # unchanged sections are not resent


def test_a_chat_answer_sent_twice_posts_once(client, world):
    """Two clicks on "Answer" (or a resend after a lost answer) carry one submission key: one answer."""
    event = make_chat(world, timezone.now() - timedelta(minutes=20))
    events.run_chats(timezone.now())
    event.refresh_from_db()
    question = event.questions.order_by("pk").first().post
    client.force_login(world.member)
    page = client.get(event.thread.get_absolute_url()).content.decode()
    field = f"to{question.pk}-submission_key"
    key = re.search(rf'name="{field}" value="([0-9a-f]{{32}})"', page).group(1)
    url = f"/c/{world.public.slug}/t/{event.thread.pk}/reply/"
    form = {"parent": question.pk, f"to{question.pk}-body": "Cold packs first.", field: key}
    for _ in range(2):
        assert client.post(url, form).status_code in (200, 302)
    answers = Post.objects.filter(thread=event.thread, parent=question, author=world.member)
    assert list(answers.values_list("body", flat=True)) == ["Cold packs first."]
    # A fresh page gives a fresh key: a second answer on purpose is posted.
    again = client.get(event.thread.get_absolute_url()).content.decode()
    assert re.search(rf'name="{field}" value="([0-9a-f]{{32}})"', again).group(1) != key


def test_the_personal_feed_address_shown_is_on_site_url_whatever_host_the_page_was_asked_through(
    client, world, settings
):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "evil.example"]
    client.force_login(world.member)
    client.post("/settings/calendar/")
    token = CalendarToken.objects.get(user=world.member).token
    page = client.get("/settings/calendar/", HTTP_HOST="evil.example:8443").content.decode()
    assert f'value="{settings.SITE_URL}/calendar/{token}.ics"' in page
    assert "evil.example" not in page


def test_the_community_page_shows_the_next_three_events_not_over_cancelled_or_elsewhere(client, world):
    now = timezone.now()

    def event(title, starts_in, hours=1, community=None, cancelled=False):
        Event.objects.create(
            community=community or world.public,
            title=title,
            starts_at=now + timedelta(hours=starts_in),
            ends_at=now + timedelta(hours=starts_in + hours),
            uid=f"{title}@test",
            cancelled_at=now if cancelled else None,
        )

    for args in [("Over", -5), ("Running", -1, 2), ("Later", 48), ("Soon", 2), ("Latest", 72)]:
        event(*args)
    event("Called off", 1, cancelled=True)
    event("Elsewhere", 1, community=world.approval)
    page = client.get(world.public.get_absolute_url()).content.decode()
    panel = page.split('id="events-heading"', 1)[1].split("</section>", 1)[0]
    shown = [
        title for title in ("Over", "Running", "Later", "Soon", "Latest", "Called off", "Elsewhere") if title in panel
    ]
    assert sorted(shown, key=panel.index) == ["Running", "Soon", "Later"]
    assert len(re.findall(rf'href="/c/{world.public.slug}/events/\d+/"', panel)) == 3
