from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class DigestRun(models.Model):
    """One person's digest for one period (their local date). Unique, so a period is mailed once.

    planned → (built) queued | empty | skipped. A queued run owns an OutboundEmail
    row, which the outbox sends with retries; the run counts as delivered
    once that email is sent, and the next run covers from there.
    """

    class State(models.TextChoices):
        PLANNED = "planned", "planned"
        QUEUED = "queued", "queued"
        EMPTY = "empty", "nothing new"
        SKIPPED = "skipped", "skipped"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digest_runs")
    period = models.CharField(max_length=20, help_text="The person's local date, YYYY-MM-DD.")
    due_at = models.DateTimeField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PLANNED)
    # What the run covered, per community: {"<community id>": ["<start iso>", "<end iso>"]}.
    windows = models.JSONField(default=dict, blank=True)
    item_count = models.PositiveIntegerField(default=0)
    email = models.OneToOneField(
        "copsite.OutboundEmail", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    built_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "period"], name="one_digest_per_period")]
        indexes = [
            # Reconciler: planned runs left behind by a lost message or a killed worker.
            models.Index(fields=["created_at"], name="digestrun_planned", condition=Q(state="planned")),
            # Window start: a person's most recent delivered runs.
            models.Index(fields=["user", "-due_at"], name="digestrun_user_due"),
        ]

    def __str__(self) -> str:
        return f"digest for {self.user_id} on {self.period} ({self.state})"
