"""Notification emails: one kind's List-Unsubscribe, what the send-time check leaves out, the size cap,
and the email pages (one click, fewer emails, stop all email, undo) agreeing with the settings page.

Mail is read the way a mail client would: the outbox row turned into the
message the worker hands to SMTP (``core.mail.build_message``), as bytes,
parsed back; sending goes through the worker's task into Django's outbox.
"""

from __future__ import annotations

import email
import email.policy
import re
from datetime import timedelta
from unittest import mock

import pytest
from django.conf import settings
from django.core import mail as django_mail
from django.test import Client
from django.utils import timezone

from accounts import unsubscribe as kind_tokens
from accounts.models import User
from communities import services as communities
from communities.models import Membership
from core import tasks
from core.mail import build_message
from core.models import OutboundEmail
from digests import unsubscribe
from digests.forms import NOTIFICATION_KINDS
from discussions import services as discussions
from discussions.models import Post, Thread
from notifications import alerts
from notifications import email as notify
from notifications.models import Notification

pytestmark = pytest.mark.django_db

ALL_KINDS = [kind for kind, _ in NOTIFICATION_KINDS]
LABELS = dict(NOTIFICATION_KINDS)


def parsed(row: OutboundEmail) -> email.message.EmailMessage:
    raw = build_message(row).message().as_bytes()
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def size_of(row: OutboundEmail) -> int:
    return len(build_message(row).message().as_bytes())


def one_click_url(row: OutboundEmail) -> str:
    header = " ".join(parsed(row)["List-Unsubscribe"].split())
    https, mailto = [part.strip(" <>") for part in header.split(",")]
    assert mailto.startswith("mailto:unsubscribe@")
    return https


def path_of(url: str) -> str:
    assert url.startswith(settings.SITE_URL)
    return url.removeprefix(settings.SITE_URL)


def kinds_of(user: User) -> list[str]:
    return list(User.objects.get(pk=user.pk).email_notifications)


def mails_to(user: User) -> list[OutboundEmail]:
    return list(OutboundEmail.objects.filter(to=user.email, kind__startswith="notification."))


def sweep() -> None:
    notify.sweep(timezone.now())


def settle() -> None:
    """What happened so far was handled over an hour ago: the next sweep emails each conversation afresh."""
    Notification.objects.update(emailed_at=timezone.now() - timedelta(hours=2))
    OutboundEmail.objects.all().delete()


# --- One kind per email, one click turns off that kind only ------------------------------------------


def _notify_fern(world, conversation, kind: str) -> None:
    Notification.objects.filter(user=world.facilitator).delete()
    if kind == "join_request":
        Notification.objects.create(user=world.facilitator, kind=kind, community=world.public, actor=world.outsider)
    elif kind == "event_reminder":
        pytest.skip("mailed by events: test_an_event_reminder_carries_its_own_kind")
    else:
        Notification.objects.create(user=world.facilitator, kind=kind, post=conversation.opening, actor=world.member)


@pytest.mark.parametrize("kind", [k for k in ALL_KINDS if k != "event_reminder"])
def test_each_kind_of_notification_email_unsubscribes_from_that_kind_only(world, conversation, kind):
    settle()
    User.objects.filter(pk=world.facilitator.pk).update(email_notifications=ALL_KINDS)
    alerts.set_cadence(world.facilitator, "immediately")  # review work by email right away (default: daily)
    _notify_fern(world, conversation, kind)
    sweep()
    [row] = mails_to(world.facilitator)
    message = parsed(row)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Id"].endswith(f"<{kind.replace('_', '-')}.notifications.127.0.0.1>")
    url = one_click_url(row)
    assert url.startswith(f"{settings.SITE_URL}/email/notifications/")
    assert kind_tokens.read_token(url.rstrip("/").rsplit("/", 1)[-1]).kind == kind
    # The footer: this kind's link and the settings page, in both parts.
    assert (
        f"{settings.SITE_URL}/settings/email/" in row.body_text
        and f"{settings.SITE_URL}/settings/email/" in row.body_html
    )
    assert url in row.body_text and url in row.body_html

    provider = Client(enforce_csrf_checks=True)  # a mail provider: no cookie, no CSRF token
    response = provider.post(path_of(url), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert kinds_of(world.facilitator) == [k for k in ALL_KINDS if k != kind]
    again = provider.post(path_of(url), {"List-Unsubscribe": "One-Click"})  # idempotent
    assert again.status_code == 200 and kinds_of(world.facilitator) == [k for k in ALL_KINDS if k != kind]
    world.facilitator.refresh_from_db()
    assert not world.facilitator.email_paused


def test_an_event_reminder_carries_its_own_kind(world):
    from events import services as events
    from events.models import RSVP, Event

    start = timezone.now() + timedelta(minutes=30)
    event = Event.objects.create(
        community=world.public,
        title="Ward huddle",
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        created_by=world.owner,
    )
    RSVP.objects.create(event=event, user=world.member, answer=RSVP.Answer.GOING)
    events.send_reminders(timezone.now())
    row = OutboundEmail.objects.get(to=world.member.email, kind="event.reminder")
    url = one_click_url(row)
    assert kind_tokens.read_token(url.rstrip("/").rsplit("/", 1)[-1]).kind == "event_reminder"
    assert url in row.body_text
    Client(enforce_csrf_checks=True).post(path_of(url), {"List-Unsubscribe": "One-Click"})
    assert "event_reminder" not in kinds_of(world.member) and "reply" in kinds_of(world.member)


def test_opening_the_link_changes_nothing_and_shows_what_you_get(client, world):
    before = kinds_of(world.member)
    token = kind_tokens.make_token(world.member.pk, "reply", world.public.pk)
    for _ in range(2):
        page = client.get(f"/email/notifications/{token}/")
        assert page.status_code == 200
    text = page.content.decode()
    assert "You get an email when someone replies to you." in text
    assert "No more emails when someone replies to you" in text
    assert "Fewer emails: a monthly digest instead (Ward Commons)" in text  # public's default is weekly
    assert kinds_of(world.member) == before


def test_the_choices_form_needs_its_csrf_token_only_the_one_click_post_does_not(world):
    token = kind_tokens.make_token(world.member.pk, "reply", world.public.pk)
    browser = Client(enforce_csrf_checks=True)
    refused = browser.post(f"/email/notifications/{token}/", {"choice": "kind-off"})
    assert refused.status_code == 403 and "reply" in kinds_of(world.member)
    refused = browser.post(f"/email/notifications/{token}/", {"choice": "all"})
    assert refused.status_code == 403
    world.member.refresh_from_db()
    assert not world.member.email_paused
    digest = unsubscribe.make_token(world.member.pk, world.public.pk)
    assert browser.post(f"/email/unsubscribe/{digest}/", {"choice": "off"}).status_code == 403
    assert Membership.objects.get(user=world.member, community=world.public).digest_cadence == ""


def test_bad_stale_and_foreign_tokens_change_nothing(client, world, make_user):
    good = kind_tokens.make_token(world.member.pk, "reply")
    gone = make_user("gone")
    gone_token = kind_tokens.make_token(gone.pk, "reply")
    User.objects.filter(pk=gone.pk).update(is_active=False)
    cases = {
        "tampered": good[:-3] + ("abc" if not good.endswith("abc") else "xyz"),
        "a digest's token": unsubscribe.make_token(world.member.pk, None),
        "an undo token": "eyJ1IjoxfQ:1abc:def",
        "a closed account": gone_token,
        "an unknown kind": kind_tokens.make_token(world.member.pk, "nonsense"),
    }
    for name, token in cases.items():
        for response in (
            client.post(f"/email/notifications/{token}/", {"List-Unsubscribe": "One-Click"}),
            client.get(f"/email/notifications/{token}/"),
        ):
            assert response.status_code == 400, name
    with mock.patch("django.core.signing.time.time", return_value=timezone.now().timestamp() + 400 * 86400):
        stale = client.post(f"/email/notifications/{good}/", {"List-Unsubscribe": "One-Click"})
    assert stale.status_code == 400 and "more than a year old" in stale.content.decode()
    # A notification token is not a digest's either.
    assert client.post(f"/email/unsubscribe/{good}/", {"List-Unsubscribe": "One-Click"}).status_code == 400
    assert client.get("/email/notifications/%20/").status_code in (400, 404)
    assert kinds_of(world.member) == User._meta.get_field("email_notifications").default()
    world.member.refresh_from_db()
    assert not world.member.email_paused


# --- Send time: only what the person may still read --------------------------------------------------


@pytest.fixture
def two_replies(world, conversation, settings):
    """Two replies to Mira in her public thread and two in her private one, swept: two emails, not sent yet."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settle()
    replies = {
        "open": [
            discussions.reply(world.facilitator, conversation.thread, "Quasar reply one.", parent=conversation.opening),
            discussions.reply(world.owner, conversation.thread, "Nebula reply two.", parent=conversation.opening),
        ],
        "private": [
            discussions.reply(world.facilitator, conversation.private_thread, "Pulsar private one."),
            discussions.reply(world.owner, conversation.private_thread, "Comet private two."),
        ],
    }
    sweep()
    rows = {row.subject: row for row in mails_to(world.member)}
    assert len(rows) == 2
    return replies


def send_to(user: User, thread: Thread) -> tuple[str, str]:
    """Run the worker's task on the email about ``thread``: its result, and the body delivered ('' if none)."""
    row = next(r for r in mails_to(user) if thread.title in r.subject)
    django_mail.outbox = []
    result = tasks.send_email.run(row.pk)
    bodies = [m.body for m in django_mail.outbox]
    return result, (bodies[0] if bodies else "")


def test_all_still_readable_goes_out_as_queued(world, conversation, two_replies):
    result, body = send_to(world.member, conversation.thread)
    assert result == "sent" and "Quasar reply one." in body and "Nebula reply two." in body


def test_a_post_hidden_since_is_left_out(world, conversation, two_replies):
    one, _ = two_replies["open"]
    discussions.hide_post(world.facilitator, one, "Names a patient")
    result, body = send_to(world.member, conversation.thread)
    assert result == "sent" and "Quasar" not in body and "Nebula reply two." in body
    assert OutboundEmail.objects.get(subject__contains="Olive Owner").state == OutboundEmail.State.SENT
    assert "Quasar" not in django_mail.outbox[0].alternatives[0][0]


def test_every_post_hidden_drops_the_email(world, conversation, two_replies):
    for post in two_replies["open"]:
        discussions.hide_post(world.facilitator, post, "Off topic")
    result, body = send_to(world.member, conversation.thread)
    assert result == "dropped" and body == ""


def test_a_post_deleted_since_is_left_out(world, conversation, two_replies):
    one, _ = two_replies["open"]
    discussions.delete_post(world.facilitator, one)
    result, body = send_to(world.member, conversation.thread)
    assert result == "sent" and "Quasar" not in body and "Nebula reply two." in body


def test_a_post_held_since_is_left_out(world, conversation, two_replies):
    _, two = two_replies["open"]
    two.set_state(Post.State.HELD)
    two.save(update_fields=["state", "state_changed_at"])
    result, body = send_to(world.member, conversation.thread)
    assert result == "sent" and "Quasar reply one." in body and "Nebula" not in body


def test_a_thread_moved_where_the_person_cannot_follow_drops_the_email(world, conversation, two_replies):
    Thread.objects.filter(pk=conversation.thread.pk).update(community=world.elsewhere)
    conversation.thread.refresh_from_db()
    result, body = send_to(world.member, conversation.thread)
    assert result == "dropped" and body == ""


def test_a_membership_ended_since_drops_the_private_communitys_email(world, conversation, two_replies):
    communities.leave(world.member, world.private)
    result, body = send_to(world.member, conversation.private_thread)
    assert result == "dropped" and body == ""
    # The public thread's email is not about the private community: it goes out.
    assert send_to(world.member, conversation.thread)[0] == "sent"


def test_a_ban_since_drops_the_email(world, conversation, two_replies):
    Membership.objects.filter(user=world.member, community=world.private).update(state=Membership.State.BANNED)
    result, body = send_to(world.member, conversation.private_thread)
    assert result == "dropped" and body == ""


def test_a_kind_turned_off_since_sends_nothing(world, conversation, two_replies):
    token = kind_tokens.make_token(world.member.pk, "reply")
    Client().post(f"/email/notifications/{token}/", {"List-Unsubscribe": "One-Click"})
    assert send_to(world.member, conversation.thread)[0] == "dropped"


def test_email_paused_since_sends_nothing(world, conversation, two_replies):
    User.objects.filter(pk=world.member.pk).update(email_paused=True)
    assert send_to(world.member, conversation.thread)[0] == "dropped"


# --- The size cap --------------------------------------------------------------------------------------


def test_a_hundred_notifications_make_one_email_under_20_kb(world, conversation, monkeypatch, capsys):
    settle()
    body = "A longer reply about night-time pain scores, charting and handover. " * 6  # ~400 characters
    for i in range(100):
        discussions.reply(world.owner if i % 2 else world.facilitator, conversation.thread, f"{i}: {body}")
    sweep()
    [row] = mails_to(world.member)
    notes = list(
        Notification.objects.filter(user=world.member, email_sent=True).select_related(
            "actor", "post__thread__community", "event__community", "community"
        )
    )
    assert len(notes) == 100
    capped = size_of(row)
    assert row.subject == "100 updates in “How do you assess pain in delirium?”"
    assert "…and 90 more" in row.body_text and f"{settings.SITE_URL}/notifications/" in row.body_text
    assert row.body_text.count(" replied to you") == 10
    assert capped < 20_000, capped

    monkeypatch.setattr(notify, "SHOWN_AT_MOST", 10_000)  # as it was: every notification in full
    uncapped_mail = notify.compose(world.member, notes)
    uncapped = OutboundEmail(
        to=row.to,
        subject=uncapped_mail.subject,
        body_text=uncapped_mail.text,
        body_html=uncapped_mail.html,
        headers=uncapped_mail.headers,
        message_id=row.message_id,
    )
    uncapped_size = size_of(uncapped)
    assert uncapped_size > 5 * capped
    with capsys.disabled():
        print(f"\n100 notifications in one thread: {uncapped_size} bytes uncapped, {capped} bytes capped")


# --- The email pages agree with the settings page ------------------------------------------------------


def stated(html: str) -> str:
    """The "What you get by email" block's text, as a person reads it."""
    [block] = re.findall(r"<section class=\"email-state.*?</section>", html, re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", block).split())


def settings_state(member: User) -> str:
    browser = Client()
    browser.force_login(member)
    return stated(browser.get("/settings/email/").content.decode())


def undo_path(html: str) -> str:
    [path] = re.findall(r'action="(/email/undo/[^"]+/)"', html)
    return path


def test_every_email_page_states_what_the_settings_page_states_and_undoes_its_change(client, world):
    member = world.member
    kind_page = f"/email/notifications/{kind_tokens.make_token(member.pk, 'reply', world.public.pk)}/"
    fewer_page = f"/email/unsubscribe/{unsubscribe.make_token(member.pk, world.public.pk)}/"
    stop_page = f"/email/unsubscribe/{unsubscribe.make_token(member.pk, None)}/"
    start = settings_state(member)
    assert "Someone replies to my post" in start and "Ward Commons: weekly digest" in start
    for page_url, choice, effect in [
        (kind_page, "kind-off", "Someone replies to my post"),
        (kind_page, "monthly", "Ward Commons: monthly digest"),
        (kind_page, "off", "Ward Commons: no digest"),
        (fewer_page, "monthly", "Ward Commons: monthly digest"),
        (fewer_page, "off", "Ward Commons: no digest"),
        (stop_page, "right-away-off", "Nothing: your notifications wait for your digests."),
        (stop_page, "month", "All email is paused until"),
        (stop_page, "all", "All email is paused until you turn it back on"),
        (kind_page, "all", "All email is paused until you turn it back on"),
    ]:
        before = client.get(page_url).content.decode()
        assert stated(before) == start, page_url  # opening the page changed nothing and says so
        done = client.post(page_url, {"choice": choice})
        assert done.status_code == 200, (page_url, choice)
        html = done.content.decode()
        now = stated(html)
        assert now == settings_state(member) != start, (page_url, choice)
        if choice == "kind-off":
            assert effect not in now
        else:
            assert effect in now, (choice, now)
        # The undo: asked on a GET (nothing changes), done on the POST, and the pages agree again.
        path = undo_path(html)
        assert stated(client.get(path).content.decode()) == now
        undone = client.post(path).content.decode()
        assert "Undone" in undone and stated(undone) == settings_state(member) == start, (page_url, choice)


def test_after_one_click_the_page_says_the_kind_is_off_and_offers_it_back(client, world):
    token = kind_tokens.make_token(world.member.pk, "mention")
    Client(enforce_csrf_checks=True).post(f"/email/notifications/{token}/", {"List-Unsubscribe": "One-Click"})
    html = client.get(f"/email/notifications/{token}/").content.decode()
    assert "Emails when someone mentions you are off." in html and "Turn them back on" in html
    assert LABELS["mention"] not in stated(html) and stated(html) == settings_state(world.member)
    client.post(undo_path(html))
    assert "mention" in kinds_of(world.member)


def test_a_choice_not_offered_is_refused_and_changes_nothing(client, world):
    token = kind_tokens.make_token(world.member.pk, "reply")
    for hostile in ["", "daily", "<script>", "all\x00", "kind-off" * 100]:
        response = client.post(f"/email/notifications/{token}/", {"choice": hostile})
        assert response.status_code == 400 and "Choose one of the options." in response.content.decode()
    assert "reply" in kinds_of(world.member)
    assert client.post("/email/undo/not-a-token/").status_code == 400


def test_the_pages_cost_a_few_queries_however_many_communities(client, world, django_assert_max_num_queries):
    for community in (world.approval, world.elsewhere):  # four communities: one query lists them all
        Membership.objects.create(user=world.member, community=community)
    token = kind_tokens.make_token(world.member.pk, "reply", world.public.pk)
    with django_assert_max_num_queries(6):
        assert client.get(f"/email/notifications/{token}/").status_code == 200
    with django_assert_max_num_queries(6):
        response = Client().post(f"/email/notifications/{token}/", {"List-Unsubscribe": "One-Click"})
        assert response.status_code == 200
    with django_assert_max_num_queries(10):
        assert client.post(f"/email/notifications/{token}/", {"choice": "monthly"}).status_code == 200
    client.force_login(world.member)
    with django_assert_max_num_queries(12):
        assert client.get("/settings/email/").status_code == 200
