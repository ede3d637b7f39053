"""Reply by email: the keys behind reply addresses, the mail that came in, and bounces reported by the ESP."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class ReplyKey(models.Model):
    """What one reply address stands for: this person answering this thread (under this post).

    The address carries the row's id and a MAC over it and what it is bound to
    (replies/tokens.py); the row says until when it works and whether it was revoked.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    thread = models.ForeignKey("discussions.Thread", on_delete=models.CASCADE, related_name="+")
    # The post the email was about; the reply goes under it (None: under the opening post).
    post = models.ForeignKey("discussions.Post", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    # Pushed on each time an email carries the address.
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "thread", "post"], name="replykey_user_thread_post")]

    def __str__(self) -> str:
        return f"reply key {self.pk} (user {self.user_id}, thread {self.thread_id})"


class InboundMessage(models.Model):
    """One email received, once: its Message-ID (hashed) is unique, written in the transaction of its outcome."""

    class Outcome(models.TextChoices):
        POSTED = "posted", "posted"
        REFUSED = "refused", "refused"
        IGNORED = "ignored", "ignored"

    # sha256 of the Message-ID (of the raw bytes when it has none).
    key = models.CharField(max_length=64, unique=True)
    message_id = models.CharField(max_length=255, blank=True)
    source = models.CharField(max_length=40)
    sender = models.CharField(max_length=254, blank=True)
    reply_key = models.ForeignKey(ReplyKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    reason = models.CharField(max_length=300, blank=True)
    post = models.ForeignKey("discussions.Post", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["received_at"], name="inbound_received")]

    def __str__(self) -> str:
        return f"{self.outcome}: {self.message_id}"


class DeliveryProblem(models.Model):
    """The ESP said mail to a member's address bounced or was marked as spam; their email was paused for it."""

    class Kind(models.TextChoices):
        BOUNCED = "bounced", "bounced"
        COMPLAINED = "complained", "was reported as spam"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    address = models.EmailField(max_length=254)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    # The ESP's event id: a webhook delivered twice records one problem.
    event_id = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["user", "-at"], name="deliveryproblem_user_recent")]
        constraints = [
            models.UniqueConstraint(fields=["event_id"], condition=~models.Q(event_id=""), name="deliveryproblem_once")
        ]

    def __str__(self) -> str:
        return f"{self.address} {self.kind} at {self.at:%Y-%m-%d}"


class QueuedMail(models.Model):
    """Mail an ESP handed us, kept until ``receive`` has taken it (replies/tasks.py).

    Written before the webhook answers 200, so a lost Celery message or a crashed
    worker loses no reply: a beat sweep hands on what is still here.
    """

    class State(models.TextChoices):
        PENDING = "pending", "pending"
        FAILED = "failed", "failed"

    raw = models.BinaryField()
    source = models.CharField(max_length=40)
    # The envelope recipient, when the ESP told it (the headers may not name the reply address).
    recipient = models.CharField(max_length=254, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    not_before = models.DateTimeField(default=timezone.now)

    class Meta:
        # The sweep: pending rows that are due.
        indexes = [models.Index(fields=["state", "not_before"], name="queuedmail_due")]

    def __str__(self) -> str:
        return f"mail {self.pk} from {self.source} ({self.state})"
