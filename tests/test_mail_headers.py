"""Email header injection (a line break in a title or name must not become a header).

Display names, thread titles, community names and event titles carrying
CR/LF, ``Bcc:`` lines, RFC 2047 encoded-words and 2,000 characters go
through the real flows that send mail: reply notifications, digests,
invitations, join decisions, event reminders and cancellations. Each
resulting outbox row is turned into the message the worker would hand to
SMTP (``core.mail.build_message``), serialised to bytes and parsed back:
exactly the expected headers, one ``Subject`` line, recipients unchanged.
The values are written straight through the services, as an import or the
admin could, not only through forms (which would refuse most of them).
"""

from __future__ import annotations

import email
import email.policy
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone

from accounts.models import User
from communities import services as communities
from communities.models import Community, Membership
from core.mail import build_message
from core.models import OutboundEmail
from digests import building, planning
from discussions import services as discussions
from discussions.models import Thread
from events import services as events
from events.models import RSVP, Event
from notifications import email as notify
from tests import factories

pytestmark = pytest.mark.django_db

HOSTILE = {
    "crlf": "Hi\r\nBcc: evil@x.example\r\n\tX-Evil: 1\rCc: evil@x.example",
    "lf": "Hi\nBcc: evil@x.example\n\nbody takeover",
    "encoded-word": "=?utf-8?q?Hi=0D=0ABcc=3A_evil=40x=2Eexample?=",
    "long": "Long " + "title " * 400,  # cut to each column's length
    "unicode": "Zoë\u2028Bcc: evil@x.example\u0085X-Evil: 1",
}
# What any message of ours may carry; row.headers adds its own on top.
BASE_HEADERS = {"content-type", "mime-version", "content-transfer-encoding", "subject", "from", "to", "date"}
BASE_HEADERS |= {"message-id", "x-copsite"}  # every message of ours says so (a loop back to us is ignored)


def header_names(raw: bytes) -> list[str]:
    """Every header line's name as a receiving MTA would split them (unfolded)."""
    head = raw.split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[0]
    names = []
    for line in head.replace(b"\r\n", b"\n").split(b"\n"):
        if line and line[:1] not in (b" ", b"\t"):
            names.append(line.split(b":", 1)[0].decode("ascii").lower())
    return names


def assert_one_clean_message(row: OutboundEmail, recipient: str) -> str:
    """The message for ``row`` has exactly the expected headers; returns its subject as a person reads it."""
    message: EmailMultiAlternatives = build_message(row)
    assert message.recipients() == [recipient]
    raw = message.message().as_bytes()
    names = header_names(raw)
    expected = BASE_HEADERS | {name.lower() for name in row.headers}
    assert set(names) <= expected, set(names) - expected
    assert names.count("subject") == 1 and names.count("to") == 1 and names.count("from") == 1
    assert "bcc" not in names and "cc" not in names and "x-evil" not in names
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["To"] == recipient
    # A long or encoded subject is folded onto the next line; unfolding leaves a space to trim.
    subject = str(parsed["Subject"]).lstrip()
    assert "\r" not in subject and "\n" not in subject
    assert len(subject) <= 250
    # Encoded-words typed by people come back as typed: not decoded into another subject.
    assert "Hi\r\nBcc" not in subject
    return subject.replace("\u200b", "")


def typed(value: str) -> str:
    """What a subject keeps of a hostile value: one line, the start of it."""
    return " ".join(value.split())[:40]


def rows_to(recipient: str, kind_prefix: str) -> list[OutboundEmail]:
    return list(OutboundEmail.objects.filter(to=recipient, kind__startswith=kind_prefix))


def fit(model, field: str, value: str) -> str:
    """As long as the column takes: PostgreSQL refuses more, whatever wrote it."""
    return value[: model._meta.get_field(field).max_length]


def rename_community(community: Community, name: str) -> None:
    Community.objects.filter(pk=community.pk).update(name=fit(Community, "name", name))
    community.refresh_from_db()


@pytest.fixture(params=sorted(HOSTILE), ids=sorted(HOSTILE))
def hostile(request) -> str:
    return HOSTILE[request.param]


def test_reply_notification(world, hostile):
    User.objects.filter(pk=world.member.pk).update(email_notifications=["reply"])
    User.objects.filter(pk=world.facilitator.pk).update(display_name=fit(User, "display_name", hostile))
    world.facilitator.refresh_from_db()
    title = fit(Thread, "title", hostile)
    thread = discussions.start_thread(world.member, world.public, title=title, body="Body.", kind="discussion")
    discussions.reply(world.facilitator, thread, "An answer.", parent=thread.opening_post)
    notify.sweep(timezone.now())
    (row,) = rows_to(world.member.email, "notification")
    subject = assert_one_clean_message(row, world.member.email)
    assert subject.startswith(typed(hostile))


def test_digest(world, conversation, hostile):
    utc = ZoneInfo("UTC")
    rename_community(world.public, hostile)
    Thread.objects.filter(pk=conversation.thread.pk).update(
        title=fit(Thread, "title", hostile), created_at=datetime(2030, 1, 15, 15, 0, tzinfo=utc)
    )
    factories.membership(world.outsider, world.public, digest_cadence="daily")
    User.objects.filter(pk=world.outsider.pk).update(digest_hour=7, time_zone="UTC")
    now = datetime(2030, 1, 16, 7, 0, tzinfo=utc)
    building.build(planning.plan(now), now)
    (row,) = rows_to(world.outsider.email, "digest")
    subject = assert_one_clean_message(row, world.outsider.email)
    assert typed(hostile) in subject  # "1 new question in <the community's name>"
    assert {"list-unsubscribe", "list-id"} <= {name.lower() for name in row.headers}


def test_invitation(world, hostile):
    rename_community(world.public, hostile)
    User.objects.filter(pk=world.facilitator.pk).update(display_name=fit(User, "display_name", hostile))
    world.facilitator.refresh_from_db()
    communities.invite(world.facilitator, world.public, "guest@example.org", "Come along.")
    (row,) = rows_to("guest@example.org", "")
    assert_one_clean_message(row, "guest@example.org")


@pytest.mark.parametrize("approve", [True, False], ids=["approved", "declined"])
def test_join_decision(world, hostile, approve):
    rename_community(world.approval, hostile)
    membership = Membership.objects.get(user=world.pending, community=world.approval)
    communities.decide_request(world.owner, world.approval, membership.pk, approve=approve)
    (row,) = rows_to(world.pending.email, "membership")
    subject = assert_one_clean_message(row, world.pending.email)
    assert typed(hostile) in subject


def _event_going(world, title: str):
    event = factories.event(
        world.facilitator,
        world.public,
        title=fit(Event, "title", title),
        starts=timedelta(minutes=30),
        questions=[(5, "First?")],
    )
    RSVP.objects.create(event=event, user=world.member, answer=RSVP.Answer.GOING)
    return event


def test_event_reminder(world, hostile):
    _event_going(world, hostile)
    assert events.send_reminders(timezone.now()) == 1
    (row,) = rows_to(world.member.email, "event.reminder")
    subject = assert_one_clean_message(row, world.member.email)
    assert subject.startswith("In 30 minutes: " + typed(hostile))


def test_event_cancelled(world, hostile):
    event = _event_going(world, hostile)
    events.cancel_event(world.facilitator, event)
    (row,) = rows_to(world.member.email, "event.cancelled")
    subject = assert_one_clean_message(row, world.member.email)
    assert subject.startswith("Cancelled: " + typed(hostile))


def test_a_row_written_outside_the_outbox_helpers_is_still_one_clean_message(world):
    # The admin's "send again" or an import may store a raw subject and headers.
    row = OutboundEmail.objects.create(
        kind="test",
        to="mira@example.org",
        subject=HOSTILE["crlf"],
        body_text="Body",
        headers={"Auto-Submitted": HOSTILE["lf"]},
        message_id="<x@example.org>",
    )
    assert assert_one_clean_message(row, "mira@example.org") == "Hi Bcc: evil@x.example X-Evil: 1 Cc: evil@x.example"
