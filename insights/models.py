"""What the health page keeps beside the ledger: level moves and the community's declared rhythm."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from communities.models import Community, Membership


class LevelChange(models.Model):
    """A member's computed participation level moving, written by the recompute (communities.participation)."""

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    old_level = models.CharField(max_length=12, choices=Membership.Level.choices)
    new_level = models.CharField(max_length=12, choices=Membership.Level.choices)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # Health page: a community's moves in a month, newest first.
            models.Index(fields=["community", "-changed_at"], name="levelchange_comm_at"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.old_level}->{self.new_level} in {self.community_id}"


class Beat(models.Model):
    """One beat of the rhythm a community declares: what should happen, and how often."""

    class Kind(models.TextChoices):
        DIGEST = "digest", "Digest day"
        SERIES = "series", "Hosted chat series"
        REVIEW = "review", "Repertoire review"
        CUSTOM = "custom", "Other beat"

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="beats")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    label = models.CharField(max_length=120, blank=True)
    # Digest day: the weekday it goes out (UTC days, as the ledger's).
    weekday = models.PositiveSmallIntegerField(null=True, blank=True, choices=Weekday.choices)
    # Hosted chat series: its occurrences are the beats.
    series = models.ForeignKey("events.EventSeries", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    # Repertoire review: at least one resource reviewed every this many months.
    every_months = models.PositiveSmallIntegerField(null=True, blank=True)
    # Other beat: expected at least every this many days.
    every_days = models.PositiveSmallIntegerField(null=True, blank=True)
    # Digest and other beats have no record of their own: a facilitator says "held" (insights.services.mark_held).
    last_held_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind="digest", weekday__isnull=False)
                    | Q(kind="series", series__isnull=False)
                    | Q(kind="review", every_months__gte=1)
                    | Q(kind="custom", every_days__gte=1)
                ),
                name="beat_has_its_rhythm",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} beat of {self.community_id}"
