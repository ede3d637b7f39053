from __future__ import annotations

from django.conf import settings
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


class Draft(models.Model):
    """What a member typed into one posting form, kept so it follows them to another device.

    One per member and form key (``core.drafts.KEY``); the browser keeps its own
    copy too (static/js/site.js) and the newer of the two wins on page load.
    ``core.drafts.posted()`` deletes the row in the request whose post used it.
    Only its owner ever reads it (``core.drafts.read``).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=60)
    # {field name: text, or a list of the chosen values}; size-checked by core.drafts.clean_fields.
    fields = models.JSONField()
    # When the member last typed into it, on the server's clock (the browser's estimate of it, never later
    # than the save's arrival): the browser's copy and this one are compared by it.
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="draft_one_per_member_and_form")]
        indexes = [
            # The per-member cap drops the oldest (user = ?, ordered by updated_at); the sweep
            # (updated_at < ?) uses the index of its own below.
            models.Index(fields=["user", "updated_at"], name="draft_member_oldest"),
            models.Index(fields=["updated_at"], name="draft_stale"),
        ]

    def __str__(self) -> str:
        return f"draft {self.key} of member {self.user_id}"


class PostedDraft(models.Model):
    """A form key whose draft became a post, and when: a save typed before then is a late echo of the post.

    Written by ``core.drafts.posted()`` with the Draft row's deletion; a save whose
    text was typed before ``posted_at`` is refused (it would bring a posted text
    back), and a browser's own copy that old is dropped on the next page.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=60)
    posted_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="posted_draft_one_per_member_and_form")]
        indexes = [
            # The sweep: posted_at < ?.
            models.Index(fields=["posted_at"], name="posted_draft_stale"),
        ]

    def __str__(self) -> str:
        return f"posted draft {self.key} of member {self.user_id}"
