"""Nothing is lost when a service fails (docs/reliability.md).

The database is the source of truth and Celery messages only say "look now",
so each test breaks a real process it started itself (tests/faults.py) and
checks what a person would notice: posts saved, pages served, a clear 503
page instead of an error, and every email delivered exactly once once the
service is back. The machine's shared PostgreSQL and Redis are never
touched: the tests run their own redis-server, PostgreSQL cluster, gunicorn
(production settings) and SMTP server. Beat is played by the test, which
publishes the sweeps' ticks itself instead of waiting minutes for them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime, timedelta

import psycopg2
import pytest
import redis
import requests
from django.db import transaction
from django.utils import timezone

from communities import services as communities
from communities.models import Membership
from core.mail import queue_email
from core.models import OutboundEmail
from core.tasks import send_pending_email
from digests import planning
from digests.models import DigestRun
from digests.tasks import build_digests, plan_digests
from discussions import services as discussions
from discussions.models import Post, Thread
from notifications.models import Notification
from notifications.tasks import send_notification_emails
from tests.faults import (
    PostgresCluster,
    RedisServer,
    SmtpSink,
    WebServer,
    collect_static,
    drain,
    free_port,
    outbox_held,
    postgres_binaries_present,
    production_env,
    production_passwords,
    publish,
    wait_for_backends_to_end,
    waiting_backends,
)
from tests.worker import ROOT, database_url_for_tests, kill_hard, read_mail, retire, text_of, wait_until

pytestmark = pytest.mark.live_worker

# Service tests: they need PostgreSQL and Redis configured (and their server binaries, to run their own).
services = pytest.mark.services


# --- Processes of our own -------------------------------------------------------------------------------------------


@pytest.fixture
def own_redis(tmp_path):
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_postgres():
    if not postgres_binaries_present():
        pytest.fail("PostgreSQL server binaries (initdb, pg_ctl, pg_dump, psql) are not installed")
    cluster = PostgresCluster()
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture(scope="session")
def static_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("static")
    collect_static(root)
    return root


@pytest.fixture
def start_web(transactional_db, static_root, tmp_path, mail_dir):
    """Start gunicorn with production settings against the given database and Redis; stopped after the test.

    transactional_db: what the test writes is committed, so gunicorn (or pg_dump) sees it.
    """
    started: list[WebServer] = []

    def start(*, database_url: str, redis_url: str) -> WebServer:
        env = production_env(static_root, database_url=database_url, redis_url=redis_url, EMAIL_FILE_PATH=str(mail_dir))
        web = WebServer(env, tmp_path / f"web-{len(started) + 1}.log")
        started.append(web)
        web.start()
        return web

    yield start
    for web in started:
        web.stop()


@pytest.fixture
def smtp():
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


def sent(row: OutboundEmail) -> bool:
    return OutboundEmail.objects.get(pk=row.pk).state == OutboundEmail.State.SENT


# --- Redis stops while members post ---------------------------------------------------------------------------------


@services
def test_members_keep_posting_while_redis_is_down_and_their_mail_goes_out_once_it_is_back(
    world, conversation, own_redis, start_web, start_worker, mail_dir
):
    """C-redis-hung-post, C-redis-down-post: Redis is broker and cache; it hangs, then stops, members post, it
    comes back empty."""
    # What the conversation fixture notified is old news here: only this test's replies count.
    Notification.objects.update(emailed_at=timezone.now() - timedelta(hours=2))
    given_up = OutboundEmail.objects.create(
        to="lee@example.org", subject="Welcome back", body_text="Hello.", state="failed", attempts=6
    )
    production_passwords(world.facilitator, world.admin)
    web = start_web(database_url=database_url_for_tests(), redis_url=own_redis.url)
    worker = start_worker(REDIS_URL=own_redis.url)
    thread_url = conversation.thread.get_absolute_url()
    fern = web.session_for(world.facilitator.email)
    ada = web.session_for(world.admin.email)
    assert requests.get(web.base + thread_url, timeout=10).status_code == 200  # now in the page cache

    # First Redis hangs: it takes connections and answers nothing, so each cache call waits out its 2 s timeout.
    redis.Redis.from_url(own_redis.url).execute_command("CLIENT", "PAUSE", "8000", "ALL")
    started = time.monotonic()
    response = web.post(fern, thread_url + "reply/", {"body": "Reply 0 while Redis hangs, @mira."})
    # One 2 s timeout, then the cache is left alone for a moment (without that rest: 8-12 s for this reply).
    assert response.status_code == 302 and time.monotonic() - started < 6, time.monotonic() - started

    own_redis.stop()
    timings = []
    for n in (1, 2, 3):
        started = time.monotonic()
        response = web.post(fern, thread_url + "reply/", {"body": f"Reply {n} while Redis is down, @mira."})
        timings.append(time.monotonic() - started)
        assert response.status_code == 302, response.text[:2000]
    signup = requests.Session()
    signup.get(web.base + "/accounts/signup/", timeout=10)
    password = "a slow river of tea"
    started = time.monotonic()
    response = web.post(
        signup,
        "/accounts/signup/",
        {"email": "rosa@example.org", "username": "rosa", "password1": password, "password2": password},
    )
    timings.append(time.monotonic() - started)  # this one also publishes its verification email, and fails to
    assert response.status_code == 302, response.text[:2000]
    resend = {"action": "retry", "_selected_action": [given_up.pk]}
    assert web.post(ada, "/admin/copsite/outboundemail/", resend).status_code == 302  # the admin's "send again"

    # Everyone sees the replies: rendered afresh, not the copy cached before the outage.
    anonymous = requests.get(web.base + thread_url, timeout=10)
    logged_in = fern.get(web.base + thread_url, timeout=10)
    for page in (anonymous, logged_in):
        assert page.status_code == 200
        assert all(f"Reply {n} while Redis is down" in page.text for n in (1, 2, 3))
    # No hang on the dead broker or cache (a stalled socket would cost 5 s a try); sign-up also hashes a password.
    assert max(timings) < 5, timings
    assert Post.objects.filter(body__contains="while Redis is down").count() == 3
    assert Post.objects.filter(body__contains="while Redis hangs").count() == 1
    assert Notification.objects.filter(user=world.member, emailed_at=None).count() == 4
    verification = OutboundEmail.objects.get(to="rosa@example.org")
    assert (verification.state, verification.attempts) == (OutboundEmail.State.PENDING, 0)
    assert OutboundEmail.objects.get(pk=given_up.pk).state == OutboundEmail.State.PENDING
    assert "could not publish send_email" in web.output()  # the publish failed; the row waits
    assert read_mail(mail_dir) == []

    own_redis.start()  # empty: whatever was queued before is gone too
    # Beat's next ticks: the notification sweep and the pending-email sweep.
    publish(own_redis.url, send_notification_emails)
    publish(own_redis.url, send_pending_email, grace_seconds=0)
    wait_until(lambda: sent(verification), timeout=60, what="the verification email", log=worker.output)
    wait_until(lambda: sent(given_up), timeout=30, what="the email sent again", log=worker.output)
    wait_until(
        lambda: OutboundEmail.objects.filter(to=world.member.email, state="sent").exists(),
        timeout=30,
        what="Mira's notification email",
        log=worker.output,
    )
    # More ticks, as beat goes on: nothing is sent twice.
    publish(own_redis.url, send_notification_emails)
    publish(own_redis.url, send_pending_email, grace_seconds=0)
    drain(own_redis.url, log=worker.output)
    mails = read_mail(mail_dir)
    [to_mira] = [m for m in mails if m["To"] == world.member.email]
    [to_rosa] = [m for m in mails if m["To"] == "rosa@example.org"]
    [_to_lee] = [m for m in mails if m["To"] == "lee@example.org"]
    assert all(f"Reply {n} while Redis is down" in text_of(to_mira) for n in (1, 2, 3))  # one email for the four
    assert "Reply 0 while Redis hangs" in text_of(to_mira)
    assert len(mails) == 3
    assert to_rosa["Message-ID"] == verification.message_id
    assert requests.get(web.base + thread_url, timeout=10).status_code == 200
    retire(worker)  # idle: a kill instead of a warm shutdown's seconds


# --- The broker refuses a publish ----------------------------------------------------------------------------------


# One action queueing many emails, in a process whose broker is a port nobody listens on.
QUEUE_FIVE = """
import django
django.setup()
from django.db import transaction
from core.mail import prepare_email, queue_emails
with transaction.atomic():
    queue_emails([prepare_email(to=f"member{i}@example.org", subject="News", text="Hi.") for i in range(5)])
"""


def test_emails_queued_while_the_broker_is_down_wait_for_the_sweep_after_one_try(transactional_db):
    """Each failed publish costs ~0.65 s: one action queueing fifty emails must not spend half a minute on them."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "copsite.settings",
        "DATABASE_URL": database_url_for_tests(),
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "LOG_JSON": "0",
    }
    done = subprocess.run(
        [sys.executable, "-c", QUEUE_FIVE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr  # the action itself succeeded
    assert (done.stdout + done.stderr).count("could not publish send_email") == 1
    assert list(OutboundEmail.objects.values_list("state", "attempts")) == [(OutboundEmail.State.PENDING, 0)] * 5


# --- The SMTP server refuses mail ------------------------------------------------------------------------------------


def test_refused_mail_backs_off_then_fails_for_the_admin_and_is_sent_once_when_smtp_recovers(
    start_worker, smtp, client, site_admin
):
    """C-smtp-fail: 4xx on every message; retries 2 s then 4 s apart, failed with the reason, "send again" once."""
    smtp.refusal = "451 4.3.0 Mail server temporarily rejecting messages"
    worker = start_worker(EMAIL_URL=smtp.url, EMAIL_MAX_ATTEMPTS="3", EMAIL_RETRY_BASE_SECONDS="2")
    with transaction.atomic():
        refused = queue_email(to="rosa@example.org", subject="Someone replied to you", text="Fern replied.")
    wait_until(
        lambda: OutboundEmail.objects.get(pk=refused.pk).state == OutboundEmail.State.FAILED,
        timeout=30,
        what="the refused email to be marked failed",
        log=worker.output,
    )
    refused.refresh_from_db()
    assert refused.attempts == 3
    assert "SMTPDataError" in refused.last_error and "451" in refused.last_error
    first, second, third = smtp.attempts
    assert 1.9 <= second - first < third - second and third - second >= 3.9, smtp.attempts  # backoff: 2 s, 4-5 s
    assert smtp.delivered == []

    # The site admin sees it in the outbox with the reason, and sends it again once the server recovers.
    client.force_login(site_admin)
    listing = client.get("/admin/copsite/outboundemail/?state__exact=failed")
    assert listing.status_code == 200
    assert "rosa@example.org" in listing.content.decode() and "Someone replied to you" in listing.content.decode()
    assert "4.3.0 Mail server temporarily rejecting messages" in listing.content.decode()
    smtp.refusal = None
    send_again = {"action": "retry", "_selected_action": [refused.pk]}
    response = client.post("/admin/copsite/outboundemail/", send_again, follow=True)
    assert "1 email(s) queued again." in response.content.decode()
    wait_until(lambda: sent(refused), timeout=30, what="the email sent again", log=worker.output)

    # A second email fails once, then its retry and two sweeps all fire as the server is back: one delivery.
    smtp.refusal = "421 4.7.0 Try again later"
    with transaction.atomic():
        retried = queue_email(to="sam@example.org", subject="Your question has an answer", text="Look.")
    wait_until(lambda: OutboundEmail.objects.get(pk=retried.pk).attempts == 1, timeout=15, what="a failed attempt")
    smtp.refusal = None
    due = OutboundEmail.objects.get(pk=retried.pk).not_before
    wait_until(lambda: timezone.now() >= due, timeout=10, what="the retry to be due")
    send_pending_email.delay(grace_seconds=0)
    send_pending_email.delay(grace_seconds=0)
    wait_until(lambda: sent(retried), timeout=30, what="the retried email", log=worker.output)
    # Later sweeps and a second "send again" on what is already sent change nothing.
    send_pending_email.delay(grace_seconds=0)
    response = client.post("/admin/copsite/outboundemail/", send_again, follow=True)
    assert "0 email(s) queued again." in response.content.decode()
    drain(log=worker.output)
    assert len(smtp.delivered_to("rosa@example.org")) == 1
    assert len(smtp.delivered_to("sam@example.org")) == 1
    assert OutboundEmail.objects.get(pk=retried.pk).attempts == 2
    retire(worker)


# --- The worker is killed in the middle of a digest pass ------------------------------------------------------------


@services
def test_a_worker_killed_mid_digest_leaves_one_digest_per_member(make_user, own_redis, start_worker, mail_dir):
    """C-worker-hard-kill: SIGKILL inside the second of three chunks; Redis hands the chunk to the next worker.

    Three members are due at 07:00 (one chunk, planned and built by the worker
    before the kill); six at 08:00 (two chunks of three). The worker dies
    inside the 08:00 pass's first chunk; the next worker takes the second chunk
    at once and, after the visibility timeout (10 s here, 30 minutes by
    default), the killed chunk, redelivered by Redis.
    """
    owner = make_user("olive")
    community = communities.create_community(owner, name="Night Shift", slug="night-shift", domain="Nights, better.")
    Membership.objects.filter(user=owner).update(digest_cadence="off")
    early = [make_user(f"early{i}") for i in range(3)]
    late = [make_user(f"late{i}") for i in range(6)]
    for hour, people in ((7, early), (8, late)):
        for person in people:
            Membership.objects.create(user=person, community=community, digest_cadence="daily")
            type(person).objects.filter(pk=person.pk).update(time_zone="UTC", digest_hour=hour)
    thread = discussions.start_thread(owner, community, title="Handover at the bedside", body="Who hands over what.")
    Thread.objects.filter(pk=thread.pk).update(created_at=datetime.fromisoformat("2030-01-15T13:00:00+00:00"))
    env = {"REDIS_URL": own_redis.url, "DIGEST_CHUNK_SIZE": "3", "CELERY_VISIBILITY_TIMEOUT": "10"}
    doomed = start_worker(**env)

    publish(own_redis.url, plan_digests, "2030-01-16T07:00:00+00:00")
    wait_until(
        lambda: OutboundEmail.objects.filter(kind="digest", state="sent").count() == 3,
        timeout=30,
        what="the 07:00 digests",
        log=doomed.output,
    )
    # The 08:00 pass, planned here and fanned out as plan_digests does (planning inside the held lock would block
    # at its COMMIT: a new run's foreign key to the outbox takes a share lock on it).
    late_runs = planning.plan(datetime.fromisoformat("2030-01-16T08:00:00+00:00"))
    assert len(late_runs) == 6
    with outbox_held():
        for chunk in (late_runs[:3], late_runs[3:]):
            publish(own_redis.url, build_digests, chunk, "2030-01-16T08:00:00+00:00")
        stuck = wait_until(waiting_backends, timeout=20, what="the 08:00 build to block", log=doomed.output)
        kill_hard(doomed)
    killed_build = doomed.output().split("digests.build[")[-1].split("]")[0]
    wait_for_backends_to_end(stuck)
    assert DigestRun.objects.filter(state=DigestRun.State.PLANNED).count() == 6

    survivor = start_worker(**env)
    wait_until(
        lambda: OutboundEmail.objects.filter(kind="digest", state="sent").count() == 9,
        timeout=45,
        what="all nine digests",
        log=survivor.output,
    )
    assert f"digests.build[{killed_build}] received" in survivor.output()  # redelivered, not rebuilt by a plan
    assert not DigestRun.objects.filter(state=DigestRun.State.PLANNED).exists()
    publish(own_redis.url, plan_digests, "2030-01-16T08:30:00+00:00")  # beat goes on
    drain(own_redis.url, log=survivor.output)
    delivered = [m["To"] for m in read_mail(mail_dir)]
    assert sorted(delivered) == sorted(p.email for p in early + late)
    assert OutboundEmail.objects.filter(kind="digest").count() == 9
    retire(survivor)


# --- PostgreSQL restarts under traffic ------------------------------------------------------------------------------


@services
def test_postgres_restart_answers_503_then_recovers_without_restarting_the_web(
    world, conversation, own_postgres, own_redis, start_web
):
    """C-postgres-restart: a clear 503 page while it is down, within seconds; the same gunicorn serves after."""
    production_passwords(world.member)
    database_url = own_postgres.copy_database(database_url_for_tests(), "copsite")
    web = start_web(database_url=database_url, redis_url=own_redis.url)
    mira = web.session_for(world.member.email)
    thread_url = conversation.thread.get_absolute_url()
    pages = [thread_url, "/c/", world.public.get_absolute_url(), "/settings/email/"]
    for path in pages:
        assert mira.get(web.base + path, timeout=10).status_code == 200, path
    assert web.post(mira, thread_url + "reply/", {"body": "Before the restart"}).status_code == 302

    own_postgres.stop()
    for path in [*pages, "/c/commons/library/"]:
        started = time.monotonic()
        page = mira.get(web.base + path, timeout=10)
        assert page.status_code == 503, (path, page.status_code, web.output()[-3000:])
        assert time.monotonic() - started < 5
        assert "Temporarily unavailable" in page.text and page.headers["Retry-After"] == "30"
    anonymous = requests.get(web.base + "/c/commons/library/", timeout=10)
    assert anonymous.status_code == 503
    posting = web.post(mira, thread_url + "reply/", {"body": "During the restart"})
    assert posting.status_code == 503 and "your text is still in the form" in posting.text
    health = requests.get(web.base + "/healthz", timeout=10)
    assert health.status_code == 503 and health.json()["failing"] == ["database"]

    own_postgres.start()
    # Every request succeeds at once, in both gunicorn workers, without restarting anything.
    for path in pages * 3:
        assert mira.get(web.base + path, timeout=10).status_code == 200, (path, web.output()[-3000:])
    assert requests.get(web.base + "/healthz", timeout=10).status_code == 200
    assert web.post(mira, thread_url + "reply/", {"body": "After the restart"}).status_code == 302
    assert web.process.poll() is None and web.output().count("Booting worker") == 2
    with psycopg2.connect(database_url) as db, db.cursor() as cursor:
        cursor.execute("SELECT body FROM discussions_post WHERE body LIKE '%%the restart' ORDER BY id")
        assert [body for (body,) in cursor.fetchall()] == ["Before the restart", "After the restart"]
