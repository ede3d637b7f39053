from __future__ import annotations

import logging
import random
import smtplib
from datetime import timedelta
from typing import Any

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import OperationalError, transaction
from django.db.models import Q
from django.utils import timezone

from core import drafts
from core.mail import at_send_time, build_message
from core.models import Heartbeat, OutboundEmail

log = logging.getLogger(__name__)

# A row stuck in "sending" longer than this belonged to a worker that died
# between claiming and recording the result; it is sent again (the one
# possible duplicate: SMTP accepted, crash before the commit).
STALE_CLAIM = timedelta(minutes=10)
# A send cut off by its soft time limit (a slow server) is worth another try, not a failure.
TRANSIENT_ERRORS = (
    smtplib.SMTPException,
    ConnectionError,
    TimeoutError,
    OSError,
    OperationalError,
    SoftTimeLimitExceeded,
)


@shared_task(
    name="copsite.send_email",
    bind=True,
    max_retries=None,  # bounded by settings.EMAIL_MAX_ATTEMPTS, counted on the row
    time_limit=60,
    soft_time_limit=45,
)
def send_email(self: Task[Any, Any], email_id: int) -> str:
    """Send one queued email at most once per successful claim."""
    now = timezone.now()
    due = Q(state=OutboundEmail.State.PENDING, not_before__lte=now + timedelta(seconds=5))
    abandoned = Q(state=OutboundEmail.State.SENDING, claimed_at__lt=now - STALE_CLAIM)
    claimable = OutboundEmail.objects.filter(due | abandoned, pk=email_id)
    # Conditional UPDATE is the claim: of two workers handed the same id,
    # only one changes the row.
    with transaction.atomic():
        claimed = claimable.update(state=OutboundEmail.State.SENDING, claimed_at=now)
    if not claimed:
        return "skipped"
    row = OutboundEmail.objects.get(pk=email_id)
    # Decided now: a check may drop the mail, or rewrite it without what may no longer be read.
    sendable = at_send_time(row)
    if sendable is None:
        OutboundEmail.objects.filter(pk=email_id).update(state=OutboundEmail.State.DROPPED, claimed_at=None)
        log.info("email %s dropped: no longer the recipient's to read (%s)", email_id, row.kind)
        return "dropped"
    row = sendable
    try:
        build_message(row).send()
    except TRANSIENT_ERRORS as exc:
        attempts = row.attempts + 1
        final = attempts >= settings.EMAIL_MAX_ATTEMPTS
        delay = retry_delay(attempts)
        OutboundEmail.objects.filter(pk=email_id).update(
            state=OutboundEmail.State.FAILED if final else OutboundEmail.State.PENDING,
            attempts=attempts,
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
            claimed_at=None,
            not_before=timezone.now() + timedelta(seconds=delay),
        )
        if final:
            log.error("email %s failed after %s attempts: %s", email_id, attempts, exc)
            return "failed"
        log.warning("email %s attempt %s failed (%s); retrying in %ss", email_id, attempts, exc, delay)
        # Short countdowns only (docs/reliability.md): anything longer is left to
        # the sweep, which honours not_before.
        if delay <= 300:
            raise self.retry(exc=exc, countdown=delay) from exc
        return "deferred"
    except Exception as exc:  # a malformed message never succeeds on retry
        OutboundEmail.objects.filter(pk=email_id).update(
            state=OutboundEmail.State.FAILED,
            attempts=row.attempts + 1,
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
            claimed_at=None,
        )
        log.exception("email %s cannot be sent", email_id)
        return "failed"
    OutboundEmail.objects.filter(pk=email_id).update(
        state=OutboundEmail.State.SENT,
        attempts=row.attempts + 1,
        sent_at=timezone.now(),
        last_error="",
    )
    log.info("email %s sent (%s)", email_id, row.kind)
    return "sent"


def retry_delay(attempts: int) -> int:
    """Exponential backoff with jitter: ~30 s, 60 s, 2 min … capped at 30 min (base: EMAIL_RETRY_BASE_SECONDS)."""
    base: int = min(settings.EMAIL_RETRY_BASE_SECONDS * 2 ** (attempts - 1), 1800)
    return base + random.randint(0, base // 4)  # noqa: S311 - jitter, not security


@shared_task(name="copsite.send_pending_email", time_limit=120, soft_time_limit=100)
def send_pending_email(grace_seconds: int = 60) -> int:
    """Beat sweep: re-publish due rows whose message was lost. Returns how many.

    ``grace_seconds`` leaves fresh rows to the message published on commit.
    """
    now = timezone.now()
    pending = OutboundEmail.objects.filter(
        state=OutboundEmail.State.PENDING, not_before__lte=now - timedelta(seconds=grace_seconds)
    )
    stuck = OutboundEmail.objects.filter(state=OutboundEmail.State.SENDING, claimed_at__lt=now - STALE_CLAIM)
    ids = list((pending | stuck).order_by("not_before").values_list("pk", flat=True)[:500])
    for email_id in ids:
        send_email.delay(email_id)
    return len(ids)


@shared_task(name="copsite.heartbeat", time_limit=30, soft_time_limit=20)
def heartbeat(name: str = "worker") -> str:
    now = timezone.now()
    Heartbeat.objects.update_or_create(name=name, defaults={"at": now})
    return now.isoformat()


@shared_task(name="copsite.sweep_drafts", time_limit=120, soft_time_limit=100)
def sweep_drafts() -> int:
    """Beat: delete the server's drafts nobody typed into for a month (core/drafts.py). Returns how many."""
    return drafts.sweep()
