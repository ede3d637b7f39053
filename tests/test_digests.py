"""Digests: who is due when (in their own time zone), what goes in, unsubscribing, notification emails."""

from __future__ import annotations

import email
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from communities.models import Membership
from core.mail import build_message
from core.models import OutboundEmail
from digests import building, planning, unsubscribe
from digests.models import DigestRun
from discussions import services as discussions
from notifications import email as notify
from notifications.models import Notification
from tests import factories
from tests.bell import unread_on_bell

pytestmark = pytest.mark.django_db
UTC = ZoneInfo("UTC")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def run_pass(now: datetime) -> dict[str, int]:
    ids = planning.plan(now)
    return building.build(ids, now) if ids else {"queued": 0, "empty": 0, "skipped": 0}


def set_daily(user, community, hour=7, tz="UTC"):
    Membership.objects.filter(user=user, community=community).update(digest_cadence="daily")
    type(user).objects.filter(pk=user.pk).update(digest_hour=hour, time_zone=tz)


def digests_to(user):
    return OutboundEmail.objects.filter(to=user.email, kind="digest")


def test_due_at_the_delivery_hour_in_the_members_time_zone(world, conversation):
    # Fixed dates (a Wednesday), so the test means the same at any hour it runs.
    from discussions.models import Thread

    set_daily(world.outsider, world.public, hour=7, tz="America/New_York")
    factories.membership(world.outsider, world.public, digest_cadence="daily")
    Thread.objects.filter(pk=conversation.thread.pk).update(created_at=datetime(2030, 1, 15, 15, 0, tzinfo=UTC))
    ny = ZoneInfo("America/New_York")
    # 06:59 in New York: not yet; 07:00: due; again later that day: nothing twice.
    run_pass(datetime(2030, 1, 16, 6, 59, tzinfo=ny))
    assert digests_to(world.outsider).count() == 0
    run_pass(datetime(2030, 1, 16, 7, 0, tzinfo=ny))
    assert digests_to(world.outsider).count() == 1
    run_pass(datetime(2030, 1, 16, 9, 0, tzinfo=ny))
    assert digests_to(world.outsider).count() == 1
    assert DigestRun.objects.filter(user=world.outsider).count() == 1
    assert "How do you assess pain in delirium?" in digests_to(world.outsider).get().body_text


def test_weekly_digest_comes_on_the_chosen_day_across_a_dst_change(world, make_user):
    # Europe/Berlin leaves summer time on Sunday 2026-10-25: 07:00 is 05:00 UTC before, 06:00 UTC after.
    reader = make_user("wendy", time_zone="Europe/Berlin", digest_hour=7, digest_weekday=0)
    factories.membership(reader, world.public, digest_cadence="weekly")
    berlin = ZoneInfo("Europe/Berlin")
    factories.thread(
        world.member,
        world.public,
        title="Before the change",
        body="x",
        created_at=datetime(2026, 10, 17, 12, tzinfo=UTC),
    )
    factories.thread(
        world.member,
        world.public,
        title="After the change",
        body="y",
        created_at=datetime(2026, 10, 22, 12, tzinfo=UTC),
    )
    sent = []
    for sunday in (datetime(2026, 10, 18, 18, tzinfo=berlin), datetime(2026, 10, 25, 18, tzinfo=berlin)):
        for quarter in range(30 * 4):  # Sunday 18:00 to Tuesday 00:00, every 15 minutes like beat
            now = (sunday + timedelta(minutes=15 * quarter)).astimezone(UTC)
            before = digests_to(reader).count()
            run_pass(now)
            if digests_to(reader).count() > before:
                sent.append(now)
    assert [s.astimezone(berlin).strftime("%a %d %H:%M") for s in sent] == ["Mon 19 07:00", "Mon 26 07:00"]
    assert [s.strftime("%H:%M") for s in sent] == ["05:00", "06:00"]
    bodies = [m.body_text for m in digests_to(reader).order_by("created_at")]
    assert "Before the change" in bodies[0] and "After the change" not in bodies[0]
    assert "After the change" in bodies[1] and "Before the change" not in bodies[1]


def test_content_skips_read_hidden_and_own_items_and_private_for_non_members(world, conversation):
    Membership.objects.filter(user=world.facilitator, community=world.public).update(digest_cadence="daily")
    Membership.objects.filter(user=world.facilitator, community=world.private).update(digest_cadence="daily")
    read_thread = discussions.start_thread(world.member, world.public, title="Already read by Fern", body="x")
    discussions.mark_read(world.facilitator, read_thread)
    hidden = discussions.start_thread(world.member, world.public, title="Hidden one", body="spam")
    discussions.hide_post(world.owner, hidden.opening_post, "spam")
    discussions.start_thread(world.facilitator, world.public, title="Fern's own", body="x")
    discussions.start_thread(world.member, world.public, title="Fresh for Fern", body="x")
    now = timezone.now() + timedelta(hours=1)
    type(world.facilitator).objects.filter(pk=world.facilitator.pk).update(digest_hour=0)
    run_pass(now)
    mail = digests_to(world.facilitator).get()
    assert "Fresh for Fern" in mail.body_text
    assert "Yak canary case" in mail.body_text  # she is a member of the private community
    for absent in ("Already read by Fern", "Hidden one", "Fern's own"):
        assert absent not in mail.body_text and absent not in mail.body_html
    # An outsider subscribed to the public community never sees private items.
    factories.membership(world.outsider, world.public, digest_cadence="daily")
    type(world.outsider).objects.filter(pk=world.outsider.pk).update(digest_hour=0)
    run_pass(now)
    outsider_mail = digests_to(world.outsider).get()
    assert "Yak" not in outsider_mail.body_text + outsider_mail.body_html + outsider_mail.subject


def test_member_who_left_the_private_community_before_send_time_gets_none_of_it(world, conversation):
    Membership.objects.filter(user=world.member, community=world.private).update(digest_cadence="daily")
    Membership.objects.filter(user=world.member, community=world.public).update(digest_cadence="off")
    discussions.start_thread(world.owner, world.private, title="Zebra secret plan", body="x")
    type(world.member).objects.filter(pk=world.member.pk).update(digest_hour=0)
    now = timezone.now() + timedelta(hours=1)
    ids = planning.plan(now)
    assert ids  # planned while still a member
    Membership.objects.filter(user=world.member, community=world.private).update(state="left")
    building.build(ids, now)
    assert not digests_to(world.member).exists()


def test_nothing_new_means_no_email(world):
    Membership.objects.filter(user=world.member, community=world.public).update(digest_cadence="daily")
    type(world.member).objects.filter(pk=world.member.pk).update(digest_hour=0)
    outcome = run_pass(timezone.now() + timedelta(hours=1))
    assert outcome["queued"] == 0
    assert not digests_to(world.member).exists()


def test_paused_and_dormant_members_get_nothing(world, conversation):
    Membership.objects.filter(user=world.facilitator, community=world.public).update(digest_cadence="daily")
    type(world.facilitator).objects.filter(pk=world.facilitator.pk).update(digest_hour=0, email_paused=True)
    run_pass(timezone.now() + timedelta(hours=1))
    assert not digests_to(world.facilitator).exists()
    type(world.facilitator).objects.filter(pk=world.facilitator.pk).update(
        email_paused=False, last_login=timezone.now() - timedelta(days=200)
    )
    Membership.objects.filter(user=world.facilitator).update(last_seen_on=(timezone.now() - timedelta(days=200)).date())
    run_pass(timezone.now() + timedelta(hours=2))
    assert not digests_to(world.facilitator).exists()


def test_questions_steer_by_the_members_tags(world):
    two_days_ago = timezone.now() - timedelta(days=2)
    factories.thread(
        world.owner, world.public, title="Sleep question?", kind="question", tags=["sleep"], created_at=two_days_ago
    )
    factories.thread(
        world.owner, world.public, title="Budget question?", kind="question", tags=["budget"], created_at=two_days_ago
    )
    discussions.start_thread(world.member, world.public, title="My sleep story", body="x", tags=["sleep"])
    Membership.objects.filter(user=world.member, community=world.public).update(digest_cadence="daily", level="core")
    type(world.member).objects.filter(pk=world.member.pk).update(digest_hour=0)
    run_pass(timezone.now() + timedelta(hours=1))
    mail = digests_to(world.member).get()
    # A core member gets one invitation: the one in their own tags.
    assert "Sleep question?" in mail.body_text and "Budget question?" not in mail.body_text
    assert "Can you help?" in mail.body_text


def test_digest_headers_allow_one_click_unsubscribe(world, conversation):
    Membership.objects.filter(user=world.facilitator, community=world.public).update(digest_cadence="daily")
    type(world.facilitator).objects.filter(pk=world.facilitator.pk).update(digest_hour=0)
    run_pass(timezone.now() + timedelta(hours=1))
    row = digests_to(world.facilitator).first()
    message = email.message_from_bytes(build_message(row).message().as_bytes())
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    header = " ".join(message["List-Unsubscribe"].split())  # unfold
    https, mailto = [part.strip(" <>") for part in header.split(",")]
    assert https.startswith("http://127.0.0.1:8000/email/unsubscribe/") and mailto.startswith("mailto:unsubscribe@")
    assert message["Precedence"] == "bulk" and message["Auto-Submitted"] == "auto-generated"
    assert message["List-Id"].endswith(">")
    assert message.is_multipart()
    assert {p.get_content_type() for p in message.walk()} >= {"text/plain", "text/html"}


def test_unsubscribe_get_only_confirms_and_one_click_post_works_without_session(client, world):
    token = unsubscribe.make_token(world.member.pk, world.public.pk)
    page = client.get(f"/email/unsubscribe/{token}/")
    assert page.status_code == 200 and "Fewer emails: a monthly digest instead" in page.content.decode()
    assert Membership.objects.get(user=world.member, community=world.public).digest_cadence == ""
    from django.test import Client

    mail_provider = Client(enforce_csrf_checks=True)
    response = mail_provider.post(f"/email/unsubscribe/{token}/", {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert Membership.objects.get(user=world.member, community=world.public).digest_cadence == "off"


def test_unsubscribe_step_down_and_all(client, world):
    token = unsubscribe.make_token(world.member.pk, world.public.pk)
    client.post(f"/email/unsubscribe/{token}/", {"choice": "monthly"})
    assert Membership.objects.get(user=world.member, community=world.public).digest_cadence == "monthly"
    client.post(f"/email/unsubscribe/{unsubscribe.make_token(world.member.pk, None)}/", {"choice": "all"})
    world.member.refresh_from_db()
    assert world.member.email_paused


def test_tampered_and_stale_unsubscribe_tokens_get_a_clear_page(client, world, settings):
    token = unsubscribe.make_token(world.member.pk, world.public.pk)
    response = client.post(f"/email/unsubscribe/{token[:-3]}abc/", {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 400 and "not valid" in response.content.decode()
    from unittest import mock

    with mock.patch("django.core.signing.time.time", return_value=timezone.now().timestamp() + 400 * 86400):
        response = client.post(f"/email/unsubscribe/{token}/", {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 400 and "more than a year old" in response.content.decode()
    assert Membership.objects.get(user=world.member, community=world.public).digest_cadence == ""


def test_preferences_page_sets_cadence_hour_and_pause(client, world):
    client.force_login(world.member)
    page = client.get("/settings/email/").content.decode()
    assert "Ward Commons" in page and "Community default (weekly)" in page
    response = client.post(
        "/settings/email/",
        {
            f"c-community_{world.public.pk}": "daily",
            f"c-community_{world.private.pk}": "",
            "rhythm-digest_hour": "7",
            "rhythm-digest_weekday": "2",
            "rhythm-email_notifications": ["reply"],
        },
    )
    assert response.status_code == 302
    world.member.refresh_from_db()
    assert (world.member.digest_hour, world.member.digest_weekday, world.member.email_notifications) == (
        7,
        2,
        ["reply"],
    )
    assert Membership.objects.get(user=world.member, community=world.public).digest_cadence == "daily"
    client.post("/settings/email/", {"pause": "on", "pause-pause_for": "indefinitely"})
    world.member.refresh_from_db()
    assert world.member.email_paused and world.member.email_paused_until is None
    bad = client.post("/settings/email/", {"rhythm-digest_hour": "25", f"c-community_{world.public.pk}": "hourly"})
    assert bad.status_code == 200 and "Select a valid choice" in bad.content.decode()


def test_notification_emails_group_per_thread_per_hour(world, conversation):
    now = timezone.now()
    factories.replies(conversation.thread, 5, by=world.facilitator, under=conversation.opening, body="more {i}")
    notify.sweep(now)
    mails = OutboundEmail.objects.filter(to=world.member.email, kind__startswith="notification")
    # Fern's first answer plus five more replies: one email for the thread.
    assert mails.count() == 1 and "6 updates in" in mails.get().subject
    discussions.reply(world.owner, conversation.thread, "and one more", parent=conversation.opening)
    assert notify.sweep(now + timedelta(minutes=10)) == 0  # same thread within the hour
    assert not Notification.objects.filter(emailed_at__isnull=True).exists()


def test_facilitator_previews_the_digest(client, world, conversation):
    client.force_login(world.facilitator)
    page = client.get("/c/commons/facilitate/digest-preview/?level=peripheral").content.decode()
    assert "Digest preview" in page and "Ward Commons" in page
    client.force_login(world.member)
    assert client.get("/c/commons/facilitate/digest-preview/").status_code == 403


def test_bell_shows_unread_count(client, world, conversation):
    discussions.reply(world.facilitator, conversation.thread, "hi @mira")
    client.force_login(world.member)
    page = client.get("/").content.decode()
    unread = Notification.objects.filter(user=world.member, read_at__isnull=True).count()
    assert unread == 2  # Fern's answer and her mention
    assert unread_on_bell(page) == 2
    client.post("/notifications/")  # mark all as read
    assert unread_on_bell(client.get("/").content.decode()) == 0
    assert 'class="bell-count"' not in client.get("/").content.decode()


def test_notifications_left_for_the_digest_appear_under_for_you(world, conversation):
    type(world.member).objects.filter(pk=world.member.pk).update(email_notifications=[], digest_hour=0)
    Membership.objects.filter(user=world.member, community=world.public).update(digest_cadence="daily")
    discussions.reply(world.facilitator, conversation.thread, "A reply for Mira", parent=conversation.opening)
    notify.sweep(timezone.now())  # she emails nothing at once: all left for the digest
    assert not OutboundEmail.objects.filter(to=world.member.email, kind__startswith="notification").exists()
    run_pass(timezone.now() + timedelta(hours=1))
    mail = digests_to(world.member).get()
    assert "For you" in mail.body_text and "Fern Facilitator replied to you" in mail.body_text


def test_a_pinned_guide_is_newly_pinned_for_a_daily_reader_and_new_for_a_weekly_one(world):
    """Both built together: what one digest says of a resource never leaks into the other's."""
    from resources.models import Resource

    now = timezone.now() + timedelta(hours=1)
    guide = Resource.objects.create(
        community=world.public, title="Rota template", url="https://example.org/rota", added_by=world.owner
    )
    # Added three days ago, pinned an hour ago.
    Resource.objects.filter(pk=guide.pk).update(
        created_at=now - timedelta(days=3), updated_at=now - timedelta(hours=1), pin_position=1
    )
    for person, cadence in ((world.member, "daily"), (world.facilitator, "weekly")):
        type(person).objects.filter(pk=person.pk).update(
            time_zone="UTC", digest_hour=0, digest_weekday=now.astimezone(UTC).weekday()
        )
        Membership.objects.filter(user=person).update(digest_cadence="off")
        Membership.objects.filter(user=person, community=world.public).update(
            digest_cadence=cadence, joined_at=now - timedelta(days=60)
        )
    run_pass(now)
    daily, weekly = digests_to(world.member).get(), digests_to(world.facilitator).get()
    assert "- Rota template (link, newly pinned)" in daily.body_text
    assert ">Link · newly pinned · added by Olive Owner</p>" in daily.body_html
    # For the weekly reader it was added within her week: new, not "newly pinned".
    assert "- Rota template (link)\n" in weekly.body_text
    assert ">Link · added by Olive Owner</p>" in weekly.body_html and "newly pinned" not in weekly.body_html
