"""Replies by email through an IMAP mailbox, against a real Dovecot (tests/dovecot.py).

Each client's reply (tests/fixtures/mail/) is addressed to a real reply
address, APPENDed to the server's INBOX over TLS the way a delivery agent
files it, and taken by the poll: the post holds the reply's own words and
nothing else, the message sits in Processed, and polling again posts nothing.
A worker killed between the post and the move posts once; a message that
cannot be taken waits for the next poll and, after a few, goes to Failed.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import OperationalError

from communities.models import Membership
from discussions.models import Post
from replies import imap
from replies.imap_tasks import poll_imap
from tests import factories
from tests.dovecot import DovecotServer, dovecot_present
from tests.faults import free_port
from tests.worker import ROOT, database_url_for_tests

pytestmark = pytest.mark.services

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "mail"
REPLY_DOMAIN = "copsite.test"

# Each client's reply, who sends it, and exactly what the post must say: the reply's own words.
SHAPES = {
    "gmail": (
        "alice@example.com",
        "Count me in for Saturday morning.\n\nI can bring two rakes and the big wheelbarrow.",
    ),
    "outlook": ("alice@example.com", "Thanks Dana, Saturday works for our team.\n\nWe will be there at nine."),
    "apple_mail": ("alice@example.com", "Yes please, put me down for the afternoon slot."),
    "phone_html": ("alice@example.com", "I can only come after lunch, sorry."),
    "signature": ("alice@example.com", "I have the key to the shed, so I will open up at half past eight."),
    "german": ("juergen@example.de", "Ich komme gerne am Samstag und bringe Kuchen für alle mit."),
    "japanese": ("hanako@example.jp", "土曜日の午前中に参加します。軍手を持っていきます。"),
    # An older Japanese desktop client: ISO-2022-JP, 7bit.
    "japanese_iso2022jp": ("hanako@example.jp", "来週の打ち合わせは火曜日でお願いします。"),
}


@pytest.fixture
def dovecot():
    if not dovecot_present():
        message = "Dovecot is not installed: apt-get install dovecot-imapd (.ci/run does)"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    server = DovecotServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def mailbox_settings(settings, dovecot):
    for name, value in dovecot.environment().items():
        setattr(settings, name, int(value) if name == "REPLY_IMAP_PORT" else value)
    settings.REPLY_IMAP_SSL = True
    settings.REPLY_IMAP_FOLDER = "INBOX"
    settings.REPLY_IMAP_PROCESSED_FOLDER = "Processed"
    settings.REPLY_IMAP_FAILED_FOLDER = "Failed"
    settings.REPLY_IMAP_MAX_FAILURES = 3
    settings.REPLY_BY_EMAIL = True
    settings.REPLY_DOMAIN = REPLY_DOMAIN
    return settings


@pytest.fixture
def rota(world, make_user):
    """A thread in the public community and three members who answer it by email."""
    from types import SimpleNamespace

    people = {
        "alice@example.com": make_user("alice", email="alice@example.com", display_name="Alice Member"),
        "juergen@example.de": make_user("juergen", email="juergen@example.de", display_name="Jürgen Müller"),
        "hanako@example.jp": make_user("hanako", email="hanako@example.jp", display_name="山田 花子"),
    }
    for person in people.values():
        Membership.objects.create(user=person, community=world.public)
    thread = factories.thread(
        world.facilitator,
        world.public,
        title="Rota for the spring clean-up",
        body="Who can help on Saturday? We need people from nine until twelve.",
    )
    return SimpleNamespace(thread=thread, people=people)


def reply_mail(shape: str, rota) -> tuple[bytes, object]:
    """The fixture for ``shape`` addressed to its sender's real reply address for the rota thread."""
    from replies.tokens import reply_address

    sender_email, _ = SHAPES[shape]
    person = rota.people[sender_email]
    address = reply_address(person, rota.thread)
    assert address and address.endswith("@" + REPLY_DOMAIN), address
    raw = (FIXTURES / f"{shape}.eml").read_bytes().replace(b"%%REPLY_ADDRESS%%", address.encode())
    return raw, person


def replies_in(thread) -> list[Post]:
    return list(Post.objects.filter(thread=thread, depth__gt=0).order_by("pk"))


@pytest.mark.parametrize("shape", list(SHAPES))
def test_a_client_reply_in_the_mailbox_is_posted_as_its_own_words_and_filed(shape, mailbox_settings, dovecot, rota):
    raw, person = reply_mail(shape, rota)
    dovecot.append(raw)

    result = imap.poll()

    assert (result.received, result.moved, result.failed) == (1, 1, 0), result
    assert dict(result.outcomes) == {"posted": 1}
    [post] = replies_in(rota.thread)
    assert post.author == person
    assert post.body == SHAPES[shape][1]
    assert dovecot.messages("INBOX") == []
    assert dovecot.messages("Processed") == [raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")]

    again = imap.poll()

    assert (again.received, again.moved) == (0, 0)
    assert len(replies_in(rota.thread)) == 1


def test_the_same_message_delivered_twice_posts_once_and_both_copies_are_filed(mailbox_settings, dovecot, rota):
    raw, _ = reply_mail("gmail", rota)
    dovecot.append(raw)
    dovecot.append(raw)

    result = imap.poll()

    assert dict(result.outcomes) == {"posted": 1, "duplicate": 1}
    assert len(replies_in(rota.thread)) == 1
    assert dovecot.messages("INBOX") == []
    assert len(dovecot.messages("Processed")) == 2


def test_a_poll_killed_between_the_post_and_the_move_posts_once(transactional_db, mailbox_settings, dovecot, rota):
    """The worker dies after receive() committed the post and before the message left the inbox."""
    raw, person = reply_mail("apple_mail", rota)
    dovecot.append(raw)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url_for_tests(),
        "SECRET_KEY": django_settings.SECRET_KEY,
        "REPLY_BY_EMAIL": "1",
        "REPLY_DOMAIN": REPLY_DOMAIN,
        **dovecot.environment(),
    }
    script = (
        "import os, django\n"
        "django.setup()\n"
        "from replies import imap\n"
        "def die(uid, receipt):\n"
        "    print('received', uid, imap.outcome_of(receipt), flush=True)\n"
        "    os._exit(17)\n"
        "imap.poll(after_receive=die)\n"
    )
    killed = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )

    assert killed.returncode == 17, killed.stdout + killed.stderr
    assert "received 1 posted" in killed.stdout.splitlines(), killed.stdout + killed.stderr
    assert [p.body for p in replies_in(rota.thread)] == [SHAPES["apple_mail"][1]]
    assert len(dovecot.messages("INBOX")) == 1, "the move never happened"

    result = imap.poll()

    assert dict(result.outcomes) == {"duplicate": 1}
    assert result.moved == 1
    [post] = replies_in(rota.thread)
    assert (post.author, post.body) == (person, SHAPES["apple_mail"][1])
    assert dovecot.messages("INBOX") == []
    assert len(dovecot.messages("Processed")) == 1


def test_a_message_receive_raises_on_is_retried_then_moved_to_failed(mailbox_settings, dovecot, rota, monkeypatch):
    good, _ = reply_mail("gmail", rota)
    bad, _ = reply_mail("outlook", rota)
    dovecot.append(bad)
    dovecot.append(good)
    real_receive = __import__("replies.inbound", fromlist=["receive"]).receive

    def receive(raw: bytes, *, source: str):
        if b"Thanks Dana" in raw:
            raise ValueError("a message the parser cannot take")
        return real_receive(raw, source=source)

    monkeypatch.setattr("replies.inbound.receive", receive)

    for poll_number in (1, 2):
        result = imap.poll()
        assert (result.failed, result.gave_up) == (1, 0), (poll_number, result)
        assert len(dovecot.messages("INBOX")) == 1, "left where it was, for the next poll"
    assert [p.body for p in replies_in(rota.thread)] == [SHAPES["gmail"][1]], "the good one did not wait"

    third = imap.poll()  # REPLY_IMAP_MAX_FAILURES = 3

    assert (third.failed, third.gave_up) == (1, 1)
    assert dovecot.messages("INBOX") == []
    assert len(dovecot.messages("Failed")) == 1
    assert len(dovecot.messages("Processed")) == 1


def test_a_message_too_big_to_read_goes_to_failed_unread(mailbox_settings, dovecot, rota, monkeypatch):
    small, _ = reply_mail("apple_mail", rota)
    big, _ = reply_mail("outlook", rota)
    monkeypatch.setattr(imap, "MAX_MESSAGE_BYTES", 2000)
    assert len(small) < 2000 < len(big)
    dovecot.append(big)
    dovecot.append(small)

    result = imap.poll()

    assert (result.too_large, result.received) == (1, 1)
    assert [p.body for p in replies_in(rota.thread)] == [SHAPES["apple_mail"][1]]
    assert dovecot.messages("INBOX") == []
    assert [b"Thanks Dana" in m for m in dovecot.messages("Failed")] == [True]
    assert "\\Seen" not in "".join(dovecot.flags("Failed")), "moved unread"


def test_a_database_outage_stops_the_poll_without_counting_against_the_message(
    mailbox_settings, dovecot, rota, monkeypatch
):
    raw, _ = reply_mail("gmail", rota)
    dovecot.append(raw)

    def away(raw: bytes, *, source: str):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr("replies.inbound.receive", away)
    for _ in range(5):  # more polls than REPLY_IMAP_MAX_FAILURES
        assert imap.poll().stopped_by_outage
    monkeypatch.undo()

    assert dovecot.messages("Failed") == []
    result = imap.poll()
    assert dict(result.outcomes) == {"posted": 1}
    assert [p.body for p in replies_in(rota.thread)] == [SHAPES["gmail"][1]]


def test_a_second_poll_while_one_runs_does_nothing(mailbox_settings, dovecot, rota):
    raw, _ = reply_mail("german", rota)
    dovecot.append(raw)
    lock = imap.lock_key(imap.ImapConfig.from_settings())
    cache.add(lock, "another worker", timeout=60)

    assert imap.poll().busy
    assert replies_in(rota.thread) == []
    assert len(dovecot.messages("INBOX")) == 1

    cache.delete(lock)  # as its expiry would
    assert dict(imap.poll().outcomes) == {"posted": 1}


def test_without_move_the_message_is_copied_flagged_and_expunged(mailbox_settings, dovecot, rota, monkeypatch):
    monkeypatch.setattr(imap.Mailbox, "supports_move", lambda self: False)
    raw, _ = reply_mail("signature", rota)
    dovecot.append(raw)

    result = imap.poll()

    assert (result.received, result.moved) == (1, 1)
    assert dovecot.messages("INBOX") == []
    assert len(dovecot.messages("Processed")) == 1
    assert [p.body for p in replies_in(rota.thread)] == [SHAPES["signature"][1]]


def test_starttls_on_the_plain_port_works_too(mailbox_settings, dovecot, rota):
    mailbox_settings.REPLY_IMAP_SSL = False
    mailbox_settings.REPLY_IMAP_PORT = dovecot.starttls_port
    raw, _ = reply_mail("japanese", rota)
    dovecot.append(raw)

    assert poll_imap()["outcomes"] == {"posted": 1}
    assert [p.body for p in replies_in(rota.thread)] == [SHAPES["japanese"][1]]


def test_a_server_whose_certificate_is_not_trusted_is_not_logged_into(mailbox_settings, dovecot, rota):
    mailbox_settings.REPLY_IMAP_CA_FILE = ""  # the test's own CA is not among the system's
    raw, _ = reply_mail("gmail", rota)
    dovecot.append(raw)
    logins_before = dovecot.output().count("Login: user=")

    outcome = poll_imap()

    assert "certificate verify failed" in outcome["error"]
    assert dovecot.output().count("Login: user=") == logins_before, "the password was never sent"
    assert replies_in(rota.thread) == []
    assert len(dovecot.messages("INBOX")) == 1


def test_a_wrong_password_or_a_closed_port_leaves_the_mail_waiting(mailbox_settings, dovecot, rota):
    raw, _ = reply_mail("gmail", rota)
    dovecot.append(raw)
    mailbox_settings.REPLY_IMAP_PASSWORD = "not the password"

    assert "error" in poll_imap()

    mailbox_settings.REPLY_IMAP_PASSWORD = dovecot.environment()["REPLY_IMAP_PASSWORD"]
    mailbox_settings.REPLY_IMAP_PORT = free_port()  # nobody listens there

    assert "error" in poll_imap()
    assert len(dovecot.messages("INBOX")) == 1
    assert replies_in(rota.thread) == []


@pytest.mark.live_worker
def test_a_celery_worker_runs_the_poll_as_beat_would_publish_it(start_worker, mailbox_settings, dovecot, rota):
    """The task is known to a worker started the production way, reads its settings from the environment, posts."""
    from tests.worker import wait_until

    raw, person = reply_mail("german", rota)
    dovecot.append(raw)
    worker = start_worker(
        SECRET_KEY=django_settings.SECRET_KEY, REPLY_BY_EMAIL="1", REPLY_DOMAIN=REPLY_DOMAIN, **dovecot.environment()
    )

    poll_imap.delay()

    wait_until(lambda: replies_in(rota.thread), timeout=30, what="the worker to post the reply", log=worker.output)
    [post] = replies_in(rota.thread)
    assert (post.author, post.body) == (person, SHAPES["german"][1])
    wait_until(lambda: len(dovecot.messages("Processed")) == 1, timeout=10, what="the move", log=worker.output)
    assert dovecot.messages("INBOX") == []


MAILBOX = {"REPLY_IMAP_HOST": "imap.example.org", "REPLY_IMAP_USER": "replies", "REPLY_IMAP_PASSWORD": "secret"}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"REPLY_IMAP_HOST": "imap.example.org"}, "REPLY_IMAP_USER and REPLY_IMAP_PASSWORD must be set"),
        ({**MAILBOX, "REPLY_IMAP_PORT": "imaps"}, "REPLY_IMAP_PORT must be a whole number"),
        ({**MAILBOX, "REPLY_IMAP_SSL": "yes please"}, "REPLY_IMAP_SSL must be one of 1/0"),
        ({**MAILBOX, "REPLY_IMAP_CA_FILE": "/nowhere/ca.pem"}, "REPLY_IMAP_CA_FILE is not a readable file"),
        ({**MAILBOX, "REPLY_IMAP_PROCESSED_FOLDER": "INBOX"}, "must differ"),
        ({**MAILBOX, "REPLY_IMAP_FAILED_FOLDER": "Échecs"}, "must be ASCII"),
    ],
)
def test_a_bad_mailbox_setting_stops_the_start_with_one_line(tmp_path, env, message):
    from tests.deploy import manage

    result = manage("check", env=env, tmp_path=tmp_path)

    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("copsite: configuration error: ") and message in line, line


def test_the_beat_polls_every_minute_only_when_a_mailbox_is_configured():
    code = "from django.conf import settings; print(settings.CELERY_BEAT_SCHEDULE.get('poll-reply-mailbox'))"
    base = {k: v for k, v in os.environ.items() if not k.startswith("REPLY_IMAP_")}
    base["DJANGO_SETTINGS_MODULE"] = "copsite.settings"

    def beat(**extra: str) -> str:
        run = subprocess.run(
            [sys.executable, "-c", "import django; django.setup(); " + code],
            cwd=ROOT,
            env={**base, **extra},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return run.stdout.strip()

    assert beat() == "None"
    assert beat(REPLY_IMAP_HOST="imap.example.org", REPLY_IMAP_USER="u", REPLY_IMAP_PASSWORD="p") == (
        "{'task': 'replies.poll_imap', 'schedule': 60.0}"
    )


def test_inbound_round_trip_over_imap_is_measured(mailbox_settings, dovecot, rota):
    """APPEND to the mailbox → one poll → the post is in the database; printed, and bounded generously."""
    from replies.tokens import reply_address

    # Twenty replies in a row from one person: lift the posting limit, which is not what this measures.
    mailbox_settings.RATE_LIMITS = {**mailbox_settings.RATE_LIMITS, "post": ("1000/60", None)}
    mailbox_settings.POST_RATE_LIMIT = mailbox_settings.NEW_ACCOUNT_POST_RATE_LIMIT = "1000/60"

    person = rota.people["alice@example.com"]
    template = (FIXTURES / "gmail.eml").read_bytes()
    address = reply_address(person, rota.thread).encode()
    total, appending, polling = [], [], []
    for i in range(20):
        raw = template.replace(b"%%REPLY_ADDRESS%%", address).replace(
            b"@mail.gmail.com>", f"-{i}@mail.gmail.com>".encode()
        )
        raw = raw.replace(b"Count me in", f"Round {i}: count me in".encode())
        started = time.perf_counter()
        dovecot.append(raw)
        appended = time.perf_counter()
        imap.poll()
        visible = Post.objects.filter(thread=rota.thread, body__startswith=f"Round {i}:").exists()
        done = time.perf_counter()
        assert visible, i
        total.append((done - started) * 1000)
        appending.append((appended - started) * 1000)
        polling.append((done - appended) * 1000)

    def ms(values: list[float]) -> str:
        return f"median {statistics.median(values):.0f} ms, p95 {sorted(values)[18]:.0f} ms"

    print(
        f"\nIMAP round trip, 20 replies (APPEND → one poll → post in the database): {ms(total)}"
        f"\n  APPEND over TLS: {ms(appending)}; poll (TLS login, fetch, receive(), MOVE): {ms(polling)}"
    )
    assert statistics.median(total) < 2000
