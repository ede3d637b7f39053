"""What django-anymail's webhooks announce: inbound mail is queued for ``receive``; bounces pause email.

anymail checks each webhook's signature (Mailgun's signing key) or basic-auth
secret before sending its signal; ``replies/views.py`` lets through only the
ESP chosen in ANYMAIL_INBOUND_ESP.
"""

from __future__ import annotations

from typing import Any

from anymail.signals import AnymailInboundEvent, AnymailTrackingEvent, inbound, tracking
from django.db import transaction

from replies import bounces, tasks


def inbound_received(sender: object, event: AnymailInboundEvent, esp_name: str, **kwargs: Any) -> None:
    message = event.message
    if message is None:
        return
    with transaction.atomic():
        tasks.queue(
            message.as_bytes(),
            source=esp_name.lower().replace(" ", "_")[:40],
            recipient=getattr(message, "envelope_recipient", None) or "",
        )


def tracking_received(sender: object, event: AnymailTrackingEvent, esp_name: str, **kwargs: Any) -> None:
    bounces.record(event.event_type or "", event.recipient or "", event_id=event.event_id or "", at=event.timestamp)


def connect() -> None:
    inbound.connect(inbound_received, dispatch_uid="replies-anymail-inbound")
    tracking.connect(tracking_received, dispatch_uid="replies-anymail-tracking")
