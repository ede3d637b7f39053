"""Taking queued inbound mail: one task per row, and a beat sweep for rows whose message was lost."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from celery import Task, shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from replies import inbound
from replies.models import InboundMessage, QueuedMail

log = logging.getLogger(__name__)

RECORD_DAYS = 90


@shared_task(name="replies.receive_queued", bind=True, max_retries=None, time_limit=120, soft_time_limit=100)
def receive_queued(self: Task[Any, Any], mail_id: int) -> str:
    """Give one queued mail to ``inbound.receive`` and delete the row in the same transaction.

    Safe to run twice: the row is locked (a second worker skips it) and ``receive``
    is idempotent per Message-ID. A failure leaves the row, retried with backoff.
    """
    try:
        with transaction.atomic():
            row = (
                QueuedMail.objects.select_for_update(skip_locked=True)
                .filter(pk=mail_id, state=QueuedMail.State.PENDING)
                .first()
            )
            if row is None:
                return "skipped"
            receipt = inbound.receive(bytes(row.raw), source=row.source, recipient=row.recipient)
            row.delete()
    except Exception as exc:
        attempts = QueuedMail.objects.filter(pk=mail_id).values_list("attempts", flat=True).first() or 0
        attempts += 1
        final = attempts >= settings.REPLY_MAX_ATTEMPTS
        delay = min(30 * 2 ** (attempts - 1), 1800)
        QueuedMail.objects.filter(pk=mail_id).update(
            state=QueuedMail.State.FAILED if final else QueuedMail.State.PENDING,
            attempts=attempts,
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
            not_before=timezone.now() + timedelta(seconds=delay),
        )
        if final:
            log.exception("inbound mail %s failed after %s attempts", mail_id, attempts)
            return "failed"
        log.warning("inbound mail %s attempt %s failed (%s); retrying in %ss", mail_id, attempts, exc, delay)
        # Short countdowns only (docs/reliability.md); longer waits are the sweep's.
        if delay <= 300:
            raise self.retry(exc=exc, countdown=delay) from exc
        return "deferred"
    return receipt.outcome


@shared_task(name="replies.sweep_queued_mail", time_limit=120, soft_time_limit=100)
def sweep_queued_mail(grace_seconds: int = 60) -> int:
    """Beat: publish due queued mail whose message was lost, and forget old records. Returns how many published.

    The record of a mail taken guards against a repeated delivery; after RECORD_DAYS none comes.
    """
    old = InboundMessage.objects.filter(received_at__lt=timezone.now() - timedelta(days=RECORD_DAYS))
    InboundMessage.objects.filter(pk__in=old.values("pk")[:1000]).delete()
    due = QueuedMail.objects.filter(
        state=QueuedMail.State.PENDING, not_before__lte=timezone.now() - timedelta(seconds=grace_seconds)
    )
    ids = list(due.order_by("not_before").values_list("pk", flat=True)[:200])
    for mail_id in ids:
        receive_queued.delay(mail_id)
    return len(ids)


def queue(raw: bytes, *, source: str, recipient: str = "") -> QueuedMail:
    """Keep one mail and hand it to a worker after commit (the sweep covers a lost publish)."""
    row = QueuedMail.objects.create(raw=raw, source=source[:40], recipient=(recipient or "")[:254])
    transaction.on_commit(lambda: publish(row.pk))
    return row


def publish(mail_id: int) -> None:
    try:
        receive_queued.delay(mail_id)
    except Exception:
        log.warning("could not publish receive_queued(%s); the sweep will", mail_id, exc_info=True)
