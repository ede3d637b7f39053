"""Value notes: what a thread, a post or a resource did for a member, in one of the value-creation cycles.

The cycles follow Wenger, Trayner and de Laat's value-creation framework:
immediate (it helped me today), potential (it changed what I know, I'll use
it), applied (I changed what I do), realised (it made a measurable
difference, so a realised note says what changed) and reframing (it changed
how we think about it, or what we measure).

A note's text is plain text, never markup: one sentence is enough and a story
can run to ``TEXT_MAX`` characters; pages show it escaped with its line breaks.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

TEXT_MAX = 2000
MEASURE_MAX = 300


class ValueNote(models.Model):
    class Cycle(models.TextChoices):
        IMMEDIATE = "immediate", "Immediate value"
        POTENTIAL = "potential", "Potential value"
        APPLIED = "applied", "Applied value"
        REALISED = "realised", "Realised value"
        REFRAMING = "reframing", "Reframing value"

    # Denormalised from the item: the report and the digest read a community's notes by it.
    community = models.ForeignKey("communities.Community", on_delete=models.CASCADE, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # A note on a thread has the thread only; on a post, the post and its thread (so one query on
    # the thread reads every note of its page); on a resource, the resource only.
    thread = models.ForeignKey("discussions.Thread", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey("discussions.Post", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    resource = models.ForeignKey(
        "resources.Resource", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    cycle = models.CharField(max_length=12, choices=Cycle.choices)
    text = models.TextField()
    # What changed, and how it shows (required for realised value).
    measure = models.CharField(max_length=MEASURE_MAX, blank=True)
    # The author's permission to quote the note in the digest's "Celebrate" block.
    share_in_digest = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                name="value_note_one_item",
                condition=(
                    Q(resource__isnull=False, thread__isnull=True, post__isnull=True)
                    | Q(resource__isnull=True, thread__isnull=False)
                ),
            ),
            models.CheckConstraint(
                name="value_note_realised_has_measure", condition=~Q(cycle="realised") | ~Q(measure="")
            ),
            models.CheckConstraint(
                name="value_note_known_cycle",
                condition=Q(cycle__in=["immediate", "potential", "applied", "realised", "reframing"]),
            ),
        ]
        indexes = [
            # The value report and the digest: a community's notes over a period.
            models.Index(fields=["community", "created_at"], name="valuenote_comm_created"),
        ]

    def __str__(self) -> str:
        return f"{self.cycle} note by {self.author_id} in {self.community_id}"

    @property
    def item_kind(self) -> str:
        if self.resource_id is not None:
            return "resource"
        return "post" if self.post_id is not None else "thread"

    def item_url(self) -> str:
        """The item's page (a post's permalink); read with the item and its community selected."""
        if self.resource is not None:
            return self.resource.get_absolute_url()
        if self.post_id is not None:
            return reverse("discussions:post", kwargs={"pk": self.post_id})
        assert self.thread is not None  # the check constraint: no resource, so a thread
        return self.thread.get_absolute_url()

    @property
    def item_title(self) -> str:
        if self.resource is not None:
            return self.resource.title
        assert self.thread is not None
        return self.thread.title


CYCLES: tuple[str, ...] = tuple(c.value for c in ValueNote.Cycle)
CYCLE_LABELS: dict[str, str] = {c.value: str(c.label) for c in ValueNote.Cycle}
# What each cycle asks the member, as the form and the pages put it.
CYCLE_HINTS: dict[str, str] = {
    "immediate": "It helped me today.",
    "potential": "I'll use this, or it changed what I know.",
    "applied": "I changed what I do.",
    "realised": "It made a measurable difference (say what changed).",
    "reframing": "It changed how we think about it, or what we measure.",
}
