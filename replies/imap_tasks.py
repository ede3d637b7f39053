"""The beat task that polls the reply mailbox (replies/imap.py); registered when REPLY_IMAP_HOST is set."""

from __future__ import annotations

import imaplib
import logging

from celery import shared_task
from django.conf import settings

from replies import imap

log = logging.getLogger(__name__)


@shared_task(name="replies.poll_imap", time_limit=300, soft_time_limit=270)
def poll_imap() -> dict[str, object]:
    """Every minute: post the replies waiting in the mailbox. Safe to run twice (a lock; receive() is idempotent)."""
    if not settings.REPLY_IMAP_HOST:
        return {}
    try:
        result = imap.poll()
    except (imaplib.IMAP4.error, imap.MailboxError, OSError) as exc:  # OSError: refused, timed out, TLS failed
        # Nothing was lost: the messages wait on the server for the next poll.
        log.warning("reply mailbox unreachable: %s", exc)
        return {"error": str(exc)}
    return {
        "busy": result.busy,
        "received": result.received,
        "outcomes": dict(result.outcomes),
        "moved": result.moved,
        "failed": result.failed,
        "gave_up": result.gave_up,
        "too_large": result.too_large,
        "stopped_by_outage": result.stopped_by_outage,
    }
