"""A picture or PDF put into a post, a resource or an event's description.

Uploaded first (while the text is still being written), then linked to the
item whose saved markdown names its key. Until then only its uploader may see
it, and an unlinked one is swept after a day (attachments/tasks.py). Once
linked, whoever may see the item may see it, and nobody else
(``policy.can_view_attachment``).
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from communities.models import Community

KEY_BYTES = 16  # token_urlsafe(16): 22 characters, 128 random bits


def new_key() -> str:
    return secrets.token_urlsafe(KEY_BYTES)


class Attachment(models.Model):
    key = models.CharField(max_length=64, unique=True, default=new_key, editable=False)
    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="+")
    # Kept when the uploader's account goes: the item keeps its picture (an unlinked one is swept).
    uploader = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    file = models.FileField(upload_to="attachments/%Y/%m/", max_length=300)
    # A narrower copy of a wide image, for showing inside the post; none for small images and PDFs.
    thumbnail = models.FileField(upload_to="attachments/%Y/%m/", max_length=300, blank=True)
    # The name in its URL and download: letters, digits, dot, dash and underscore only.
    filename = models.CharField(max_length=120)
    content_type = models.CharField(max_length=60)
    size = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    # What it is in: at most one of these. A deleted item's row goes with SET_NULL, and the sweep takes it.
    post = models.ForeignKey("discussions.Post", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    resource = models.ForeignKey(
        "resources.Resource", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    event = models.ForeignKey("events.Event", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="attachment_in_one_item",
                condition=(
                    Q(post__isnull=True, resource__isnull=True)
                    | Q(post__isnull=True, event__isnull=True)
                    | Q(resource__isnull=True, event__isnull=True)
                ),
            )
        ]
        indexes = [
            # The daily quota: what one person uploaded in the last day.
            models.Index(fields=["uploader", "created_at"], name="attachment_uploader_recent"),
            # The sweep: unlinked rows, oldest first.
            models.Index(
                fields=["created_at"],
                name="attachment_unlinked",
                condition=Q(post__isnull=True, resource__isnull=True, event__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key}/{self.filename}"

    def get_absolute_url(self) -> str:
        return reverse("attachments:file", kwargs={"key": self.key, "filename": self.filename})

    def thumbnail_url(self) -> str:
        return reverse("attachments:thumbnail", kwargs={"key": self.key, "filename": self.filename})

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")

    @property
    def is_linked(self) -> bool:
        return self.post_id is not None or self.resource_id is not None or self.event_id is not None
