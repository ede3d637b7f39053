from __future__ import annotations

from django.db import models
from django.utils import timezone


class OutboundEmail(models.Model):
    """One email that must be sent: written in the cause's transaction.

    The row is the source of truth; the Celery message only says "send it now".
    ``copsite.send_pending_email`` (beat) picks up rows whose message was lost.
    """

    class State(models.TextChoices):
        PENDING = "pending", "pending"
        SENDING = "sending", "sending"
        SENT = "sent", "sent"
        FAILED = "failed", "failed"
        # Its send-time check said no: what it would tell is no longer the recipient's to read.
        DROPPED = "dropped", "dropped"

    kind = models.CharField(max_length=80, blank=True)
    to = models.EmailField(max_length=254)
    subject = models.CharField(max_length=255)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    headers = models.JSONField(default=dict, blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    # What the mail tells of, for the check made just before sending (``core.mail.register_send_check``):
    # {"check": <name>, ...ids}. Empty: sent as written.
    about = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Earliest time the sweep may send it (pushed back after a failure).
    not_before = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The sweep: pending/sending rows, oldest first.
            models.Index(fields=["state", "not_before"], name="outbound_state_due"),
        ]

    def __str__(self) -> str:
        return f"{self.kind or 'email'} to {self.to} ({self.state})"


class Heartbeat(models.Model):
    """Last time each periodic component proved it was alive (beat → worker)."""

    name = models.CharField(max_length=40, primary_key=True)
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.at:%Y-%m-%d %H:%M:%S}"
