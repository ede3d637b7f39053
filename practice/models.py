"""The research-to-practice loop: "I'll try this", then, weeks later, "Did you try it? What happened?"

A member commits to try a research summary's "Try this" (``Commitment``).
``ask_after_days`` after committing (per community, ``LoopSetting``; 30 by
default) the ask task (practice/tasks.py) asks them once, by notification and
in their next digest; if they have not answered 14 days later it asks once
more, and never again. ``asked_count`` is the record of the asks: each ask is
a conditional UPDATE from k to k + 1, so a beat run twice or a worker restarted
mid-run asks once. Their answer (``ReportBack``) counts on the resource's page
and, with a story, is a reply in the resource's discussion thread.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from communities.models import Community
from discussions.models import Post
from resources.models import Resource

DEFAULT_ASK_AFTER_DAYS = 30
# The second (and last) ask, this long after the first when it is still unanswered.
SECOND_ASK_AFTER_DAYS = 14
MAX_ASKS = 2


class LoopSetting(models.Model):
    """A community's choice of when to ask (a community without a row asks after the default)."""

    community = models.OneToOneField(Community, on_delete=models.CASCADE, related_name="+")
    ask_after_days = models.PositiveSmallIntegerField(default=DEFAULT_ASK_AFTER_DAYS)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(ask_after_days__gte=1, ask_after_days__lte=365), name="loop_ask_after_in_range"
            )
        ]

    def __str__(self) -> str:
        return f"{self.community_id}: ask after {self.ask_after_days} days"


class Commitment(models.Model):
    """``user`` said they'd try what ``resource`` suggests."""

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    note = models.CharField(max_length=300, blank=True)
    try_by = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # When the next ask is due (set at commit from the community's setting, moved on by each ask);
    # None once answered or asked the last time.
    ask_due_at = models.DateTimeField(null=True, blank=True)
    asked_count = models.PositiveSmallIntegerField(default=0)
    last_asked_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["resource", "user"], name="one_commitment_per_resource"),
            models.CheckConstraint(condition=Q(asked_count__lte=MAX_ASKS), name="commitment_asked_at_most_twice"),
        ]
        indexes = [
            # The ask task: due, unanswered.
            models.Index(fields=["ask_due_at"], name="commitment_due", condition=Q(ask_due_at__isnull=False)),
            # The facilitator's monthly report.
            models.Index(fields=["resource", "created_at"], name="commitment_resource"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} will try resource {self.resource_id}"


class ReportBack(models.Model):
    """What happened when ``commitment``'s person tried it (or didn't)."""

    class Outcome(models.TextChoices):
        HELPED = "helped", "Tried it, and it helped"
        NO_DIFFERENCE = "no_difference", "Tried it, no difference"
        DID_NOT_WORK = "did_not_work", "Tried it, it didn't work"
        NOT_YET = "not_yet", "Haven't tried it yet"
        NOT_APPLICABLE = "not_applicable", "Not applicable"

    TRIED = (Outcome.HELPED, Outcome.NO_DIFFERENCE, Outcome.DID_NOT_WORK)

    commitment = models.OneToOneField(Commitment, on_delete=models.CASCADE, related_name="report")
    # Copied from the commitment: the page's counts read one table.
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    story = models.TextField(blank=True, max_length=2000)
    # The reply the story became in the resource's discussion (held, hidden or deleted: not shown).
    post = models.ForeignKey(Post, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["resource", "-created_at"], name="reportback_resource")]

    def __str__(self) -> str:
        return f"{self.user_id} on resource {self.resource_id}: {self.outcome}"

    @property
    def tried(self) -> bool:
        return self.outcome in self.TRIED
