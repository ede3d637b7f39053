"""Profile and preferences: time zones picked from a list grouped by region (detected at sign-up),
one control that pauses email, and event times shown with their zone in pages and email."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts import services as accounts
from accounts.models import User
from accounts.tasks import resume_email
from communities.models import Membership
from core.models import OutboundEmail
from events import services as events
from tests import factories
from tests.accounts import SIGNUP, signup_data

pytestmark = pytest.mark.django_db

# --- the time-zone list -------------------------------------------------------------------


def test_the_time_zone_list_is_grouped_by_region_with_each_places_offset(client, member):
    client.force_login(member)
    page = client.get("/settings/profile/").content.decode()
    assert page.count("<optgroup") == 11
    assert '<optgroup label="Europe">' in page and '<optgroup label="Pacific">' in page
    assert "data-time-zone-list" in page and 'value="UTC" selected' in page
    assert ">Kolkata, UTC+05:30</option>" in page and ">Buenos Aires (Argentina), UTC−03:00</option>" in page
    # Old names are not offered, region-less or not.
    assert 'value="US/Eastern"' not in page and 'value="localtime"' not in page


def test_a_zone_the_list_does_not_offer_stays_chosen_and_saved(client, member):
    User.objects.filter(pk=member.pk).update(time_zone="US/Eastern")
    client.force_login(member)
    page = client.get("/settings/profile/").content.decode()
    assert '<optgroup label="Other">' in page and 'value="US/Eastern" selected' in page
    response = client.post("/settings/profile/", {"display_name": "Mira", "bio": "", "time_zone": "US/Eastern"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.time_zone == "US/Eastern"


@pytest.mark.parametrize("value", ["Mars/Olympus_Mons", "localtime", "Factory", "", "Europe/Paris\x00"])
def test_a_zone_no_one_lives_in_is_refused_and_nothing_changes(client, member, value):
    client.force_login(member)
    response = client.post("/settings/profile/", {"display_name": "Mira", "bio": "", "time_zone": value})
    assert response.status_code == 200 and "field-invalid" in response.content.decode()
    member.refresh_from_db()
    assert member.time_zone == "UTC"


def test_sign_up_keeps_the_time_zone_chosen_or_detected(client):
    page = client.get(SIGNUP).content.decode()
    # A fresh form asks the browser (static/js/site.js); the list is there without it.
    assert "data-detect-time-zone" in page and '<optgroup label="Asia">' in page
    client.post(SIGNUP, signup_data(time_zone="Asia/Kolkata"))
    assert User.objects.get(username="newcomer").time_zone == "Asia/Kolkata"
    Client().post(SIGNUP, signup_data(email="other@example.org", username="other"))
    assert User.objects.get(username="other").time_zone == "UTC"


def test_a_sign_up_sent_back_with_an_error_keeps_the_chosen_zone_and_does_not_detect_again(client):
    response = client.post(SIGNUP, signup_data(time_zone="Asia/Kolkata", password2="not the same"))
    page = response.content.decode()
    assert response.status_code == 200 and 'value="Asia/Kolkata" selected' in page
    assert "data-detect-time-zone" not in page
    bad = client.post(SIGNUP, signup_data(time_zone="Narnia/Cair_Paravel")).content.decode()
    assert "Select a valid choice" in bad and not User.objects.filter(username="newcomer").exists()


# --- one pause ------------------------------------------------------------------------------


def test_the_email_settings_have_one_pause_control(client, member):
    client.force_login(member)
    page = client.get("/settings/email/").content.decode()
    assert page.count('name="pause"') == 1 and "email_paused" not in page
    assert "Pause all email" in page and "For a week" in page and "Until I turn it back on" in page


def test_pausing_for_a_week_ends_by_itself(client, member):
    User.objects.filter(pk=member.pk).update(time_zone="Europe/Paris")
    client.force_login(member)
    before = timezone.now()
    response = client.post("/settings/email/", {"pause": "on", "pause-pause_for": "week"}, follow=True)
    member.refresh_from_db()
    assert member.email_paused
    assert before + timedelta(days=7) <= member.email_paused_until <= timezone.now() + timedelta(days=7)
    back = member.email_paused_until.astimezone(timezone.get_fixed_timezone(0))
    page = response.content.decode()
    assert "All email is paused until" in page and "Turn email back on" in page and 'name="pause-pause_for"' not in page
    assert ("CET</time>" in page or "CEST</time>" in page) and str(back.year) in page
    assert resume_email.apply(kwargs={"now": (member.email_paused_until - timedelta(minutes=1)).isoformat()}).get() == 0
    assert resume_email.apply(kwargs={"now": member.email_paused_until.isoformat()}).get() == 1
    member.refresh_from_db()
    assert (member.email_paused, member.email_paused_until) == (False, None)


def test_pause_until_turned_back_on_and_back_on(client, member):
    client.force_login(member)
    client.post("/settings/email/", {"pause": "on", "pause-pause_for": "indefinitely"})
    member.refresh_from_db()
    assert member.email_paused and member.email_paused_until is None
    assert accounts.resume_ended_pauses(timezone.now() + timedelta(days=3650)) == 0
    assert "until you turn it back on" in client.get("/settings/email/").content.decode()
    client.post("/settings/email/", {"pause": "off"})
    member.refresh_from_db()
    assert not member.email_paused


@pytest.mark.parametrize("value", ["forever and ever", "", "week\x00"])
def test_an_odd_pause_length_is_refused(client, member, value):
    client.force_login(member)
    response = client.post("/settings/email/", {"pause": "on", "pause-pause_for": value})
    assert response.status_code == 200 and "field-invalid" in response.content.decode()
    member.refresh_from_db()
    assert not member.email_paused


def test_saving_digest_settings_while_paused_keeps_the_pause(client, world):
    accounts.pause_email(world.member)
    client.force_login(world.member)
    response = client.post(
        "/settings/email/",
        {
            f"c-community_{world.public.pk}": "daily",
            f"c-community_{world.private.pk}": "",
            "rhythm-digest_hour": "8",
            "rhythm-digest_weekday": "1",
            "rhythm-email_notifications": ["reply"],
        },
    )
    assert response.status_code == 302
    world.member.refresh_from_db()
    assert world.member.email_paused and world.member.digest_hour == 8
    assert Membership.objects.get(user=world.member, community=world.public).digest_cadence == "daily"


def test_a_paused_member_is_not_mailed_when_an_event_is_cancelled(world):
    event = factories.event(world.facilitator, world.public, title="Monthly call", kind="call")
    for person in (world.member, world.owner):
        events.rsvp(person, event, "going")
    accounts.pause_email(world.member)
    events.cancel_event(world.facilitator, event)
    assert [m.to for m in OutboundEmail.objects.filter(kind="event.cancelled")] == [world.owner.email]


# --- event times with their zone ------------------------------------------------------------

TUESDAY_1PM_UTC = datetime(2030, 12, 3, 13, 0, tzinfo=UTC)


@pytest.fixture
def call(world):
    return factories.event(
        world.facilitator,
        world.public,
        title="Winter call",
        kind="call",
        starts=TUESDAY_1PM_UTC,
        time_zone="America/Mexico_City",
    )


def test_members_see_event_times_on_their_clock_with_its_zone(client, world, call, settings):
    settings.PAGE_CACHE_SECONDS = 0
    User.objects.filter(pk=world.member.pk).update(time_zone="Europe/Paris")
    client.force_login(world.member)
    for url in (call.get_absolute_url(), "/c/commons/events/"):
        page = client.get(url).content.decode()
        assert "14:00</time>–15:00 <abbr" in page and '<abbr title="Europe/Paris">CET</abbr>' in page, url
    assert "Tuesday 3 December 2030, 14:00</time>–15:00" in client.get(call.get_absolute_url()).content.decode()
    assert 'Tue 3 Dec, 14:00</time> <abbr title="Europe/Paris">CET</abbr>' in client.get("/c/commons/").content.decode()


def test_visitors_see_event_times_in_the_events_own_zone(client, world, call):
    page = client.get(call.get_absolute_url()).content.decode()
    assert (
        "Tuesday 3 December 2030, 07:00</time>–08:00" in page and '<abbr title="America/Mexico_City">CST</abbr>' in page
    )
    assert "the host's time zone, America/Mexico_City" in page
    community_page = client.get("/c/commons/").content.decode()
    assert 'Tue 3 Dec, 07:00</time> <abbr title="America/Mexico_City">CST</abbr>' in community_page
    assert "Times in each event's own time zone" in client.get("/c/commons/events/").content.decode()


def test_event_emails_give_the_time_with_its_zone(world):
    User.objects.filter(pk=world.member.pk).update(time_zone="Asia/Kolkata")
    world.member.refresh_from_db()
    soon = factories.event(world.facilitator, world.public, title="Soon", kind="call", starts=timedelta(minutes=30))
    events.rsvp(world.member, soon, "going")
    assert events.send_reminders(timezone.now()) == 1
    local = soon.starts_at.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Kolkata"))
    reminder = OutboundEmail.objects.get(kind="event.reminder")
    assert f"{local:%a} {local.day} {local:%b}, {local:%H:%M} IST" in reminder.body_text
    later = factories.event(world.facilitator, world.public, title="Later", kind="call", starts=TUESDAY_1PM_UTC)
    events.rsvp(world.member, later, "going")
    events.cancel_event(world.facilitator, later)
    cancelled = OutboundEmail.objects.get(kind="event.cancelled")
    assert "planned for Tuesday 3 December 2030, 18:30–19:30 IST, has been cancelled" in cancelled.body_text
