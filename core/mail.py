"""Queue email as database rows; a Celery worker sends them.

``queue_email`` must be called inside the transaction that causes the mail,
so a rolled-back action mails no one. The task is published after commit; if
the broker is down the row stays pending and the beat sweep sends it later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import make_msgid
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction

from core.models import OutboundEmail

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rewritten:
    """What a send-time check answers when only part of a mail may still go out: the mail to send instead."""

    subject: str
    text: str
    html: str
    headers: dict[str, str]


# name → function(about) -> bool | Rewritten: may this mail still go out (or what of it)? Apps
# register theirs in AppConfig.ready(); the worker asks just before sending, so text hidden or
# deleted after the mail was queued (a retry can come hours later) is never delivered.
SendCheck = Callable[[dict[str, Any]], "bool | Rewritten"]
_send_checks: dict[str, SendCheck] = {}


def register_send_check(name: str, check: SendCheck) -> None:
    _send_checks[name] = check


def at_send_time(row: OutboundEmail) -> OutboundEmail | None:
    """The row as it may go out now: None when nothing of it may, rewritten (and saved) when part of it may.

    A row without a check (or naming an unknown one) goes out as written.
    """
    name = (row.about or {}).get("check")
    check = _send_checks.get(name) if name else None
    verdict = True if check is None else check(row.about)
    if isinstance(verdict, Rewritten):
        row.subject = subject_line(verdict.subject)
        row.body_text, row.body_html = verdict.text, verdict.html
        row.headers = {k: one_line(v, 2000) for k, v in verdict.headers.items()}
        type(row).objects.filter(pk=row.pk).update(
            subject=row.subject, body_text=row.body_text, body_html=row.body_html, headers=row.headers
        )
        return row
    return row if verdict else None


def still_deliverable(row: OutboundEmail) -> bool:
    """Whether anything of the row may still go out (``at_send_time`` says what)."""
    return at_send_time(row) is not None


def one_line(text: str, limit: int = 200) -> str:
    """Collapse CR/LF and runs of whitespace: header values must be one line."""
    collapsed = " ".join(text.split())
    return collapsed if len(collapsed) <= limit else collapsed[: limit - 1].rstrip() + "…"


def subject_line(text: str, limit: int = 250) -> str:
    """One line, with any RFC 2047 encoded-word ("=?utf-8?q?…?=") typed by a person kept as text.

    Mail clients decode an encoded-word found in a plain ASCII subject, CR/LF
    and all, so a thread title could show as a different subject. A zero-width
    space after "=" breaks the opener, and being non-ASCII it makes Django
    encode the whole subject, which then reads back exactly as typed.
    """
    return one_line(text, limit).replace("=?", "=\u200b?")


def prepare_email(
    *,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    kind: str = "",
    headers: dict[str, str] | None = None,
    about: dict[str, Any] | None = None,
) -> OutboundEmail:
    """An unsaved outbox row; ``queue_emails`` stores many of them at once."""
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip(">") or None
    return OutboundEmail(
        kind=kind[:80],
        to=to,
        subject=subject_line(subject),
        body_text=text,
        body_html=html or "",
        headers={k: one_line(v, 2000) for k, v in (headers or {}).items()},
        message_id=make_msgid(domain=domain),
        about=about or {},
    )


def queue_emails(rows: list[OutboundEmail]) -> list[OutboundEmail]:
    """Store rows in one INSERT and publish them after commit (the sweep covers a lost publish)."""
    if not rows:
        return rows
    saved = OutboundEmail.objects.bulk_create(rows)
    ids = [row.pk for row in saved]
    transaction.on_commit(lambda: _publish_all(ids))
    return saved


def queue_email(**fields: Any) -> OutboundEmail:
    """Queue one email; call inside the transaction that causes it, so a rollback mails no one."""
    return queue_emails([prepare_email(**fields)])[0]


def queue_templated_email(
    *, to: str, template: str, context: dict[str, Any], kind: str, headers: dict[str, str] | None = None
) -> OutboundEmail:
    """Render ``<template>_subject.txt``, ``<template>.txt`` and (if it exists) ``<template>.html``, then queue."""
    from django.template import TemplateDoesNotExist
    from django.template.loader import render_to_string

    context = {
        **context,
        "SITE_URL": settings.SITE_URL,
        "SITE_NAME": settings.COPSITE_NAME,
        "site_url": settings.SITE_URL,
        "site_name": settings.COPSITE_NAME,
    }
    try:
        html = render_to_string(f"{template}.html", context)
    except TemplateDoesNotExist:
        html = None
    return queue_email(
        to=to,
        subject=render_to_string(f"{template}_subject.txt", context),
        text=render_to_string(f"{template}.txt", context),
        html=html,
        kind=kind,
        headers=headers,
    )


def _publish_all(ids: list[int]) -> None:
    """Publish each row's "send now"; after a failure leave the rest to the sweep.

    With the broker down every try costs ~0.65 s (docs/reliability.md): a chunk of
    50 digests would spend half a minute failing one by one.
    """
    for email_id in ids:
        if _publish(email_id) is False:
            return


def _publish(email_id: int) -> bool:
    from core.tasks import send_email

    try:
        send_email.delay(email_id)
    except Exception:
        log.warning("could not publish send_email(%s); the pending-email sweep will send it", email_id, exc_info=True)
        return False
    return True


def build_message(row: OutboundEmail) -> EmailMultiAlternatives:
    headers = {k: one_line(str(v), 2000) for k, v in row.headers.items()}
    headers["Message-ID"] = row.message_id
    # Marks our own mail: coming back to the reply address (a loop), replies/inbound.py ignores it.
    headers["X-Copsite"] = row.kind or "mail"
    msg = EmailMultiAlternatives(
        # Rows may be written outside queue_email (admin, imports): a CR/LF in
        # a header would raise BadHeaderError on every attempt.
        subject=subject_line(row.subject),
        body=row.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[row.to],
        headers=headers,
    )
    if row.body_html:
        msg.attach_alternative(row.body_html, "text/html")
    return msg
