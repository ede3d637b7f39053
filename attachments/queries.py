"""Reads for attachments."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, Sum

from accounts.models import User
from attachments.models import Attachment
from core.db import one_or_none


def unlinked_q() -> Q:
    """In no item yet (the sweep's partial index, ``attachment_unlinked``, has the same condition)."""
    return Q(post__isnull=True, resource__isnull=True, event__isnull=True)


def for_serving(key: str) -> Attachment | None:
    """The attachment with what ``policy.can_view_attachment`` reads, in one query (LEFT JOINs)."""
    queryset = Attachment.objects.select_related(
        "post__thread__community", "resource__community", "event__community"
    ).defer("post__body", "post__body_html", "post__body_text", "resource__description", "resource__description_html")
    return one_or_none(queryset.filter(key=key))


def bytes_uploaded_since(user: User, since: datetime) -> int:
    """What ``user`` stored since ``since`` (the daily quota; index ``attachment_uploader_recent``)."""
    total = Attachment.objects.filter(uploader=user, created_at__gte=since).aggregate(total=Sum("size"))["total"]
    return int(total or 0)
