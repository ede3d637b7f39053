"""Email goes out through a real Celery worker, from database rows: once, and never lost."""

from __future__ import annotations

import re
import time

import pytest
from django.db import transaction

from core.mail import queue_email
from core.models import OutboundEmail
from core.tasks import send_pending_email
from tests.faults import free_port
from tests.worker import read_mail, text_of, wait_until

pytestmark = pytest.mark.live_worker


def test_signup_verification_email_is_sent_by_the_live_worker(client, live_worker):
    password = "a slow river of tea"
    client.post(
        "/accounts/signup/",
        {"email": "ana@example.org", "username": "ana", "password1": password, "password2": password},
    )
    [message] = live_worker.wait_for_mail(1)
    assert message["To"] == "ana@example.org"
    assert "Confirm" in message["Subject"]
    assert re.search(r"/accounts/confirm-email/[^/\s]+/", text_of(message))
    row = OutboundEmail.objects.get(to="ana@example.org")
    wait_until(
        lambda: OutboundEmail.objects.get(pk=row.pk).state == "sent", what="row marked sent", log=live_worker.output
    )
    assert message["Message-ID"] == row.message_id


def test_a_lost_message_is_sent_by_the_sweep_exactly_once(live_worker):
    # The row exists but no "send now" message ever reached the broker
    # (as if the broker was down when the sign-up committed).
    row = OutboundEmail.objects.create(to="lost@example.org", subject="Hello\r\nBcc: evil@example.org", body_text="hi")
    OutboundEmail.objects.filter(pk=row.pk).update(not_before=row.created_at.replace(year=2000))
    send_pending_email.delay(grace_seconds=0)
    send_pending_email.delay(grace_seconds=0)
    [message] = live_worker.wait_for_mail(1)
    assert message["To"] == "lost@example.org"
    wait_until(
        lambda: OutboundEmail.objects.get(pk=row.pk).state == "sent", what="row marked sent", log=live_worker.output
    )
    send_pending_email.delay(grace_seconds=0)
    time.sleep(2)
    assert len(read_mail(live_worker.mail_dir)) == 1
    assert "Bcc" not in message


def test_rolled_back_action_mails_no_one(live_worker):
    with pytest.raises(RuntimeError), transaction.atomic():
        queue_email(to="ghost@example.org", subject="never", text="never")
        raise RuntimeError("the post failed after queueing its email")
    assert not OutboundEmail.objects.exists()
    send_pending_email.delay(grace_seconds=0)
    time.sleep(2)
    assert read_mail(live_worker.mail_dir) == []


def test_refused_smtp_is_retried_then_marked_failed_for_the_admin(start_worker):
    closed = free_port()  # nobody listens there: SMTP refused
    worker = start_worker(EMAIL_URL=f"smtp://127.0.0.1:{closed}", EMAIL_MAX_ATTEMPTS="3", EMAIL_RETRY_BASE_SECONDS="1")
    with transaction.atomic():
        row = queue_email(to="someone@example.org", subject="hi", text="hi")
    wait_until(
        lambda: OutboundEmail.objects.get(pk=row.pk).state == "failed", timeout=45, what="row failed", log=worker.output
    )
    row.refresh_from_db()
    assert row.attempts == 3
    assert "ConnectionRefusedError" in row.last_error
    assert "attempt 1 failed" in worker.output() and "attempt 2 failed" in worker.output()


def test_a_send_cut_off_by_its_soft_time_limit_is_retried_not_failed(db, settings, monkeypatch):
    """A very slow mail server makes the task hit its soft limit: that is a reason to try again later."""
    from celery.exceptions import SoftTimeLimitExceeded

    from core import tasks

    settings.EMAIL_RETRY_BASE_SECONDS = 600  # longer than a countdown: the sweep takes it from here
    row = queue_email(to="slow@example.org", subject="Hello", text="Body")

    def too_slow(self, *args, **kwargs):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", too_slow)
    assert tasks.send_email.run(row.pk) == "deferred"
    row.refresh_from_db()
    assert row.state == OutboundEmail.State.PENDING and row.attempts == 1
