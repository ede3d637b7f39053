"""Writes for attachments: take an upload, link what an item's text names, sweep what nothing took.

An upload goes through the same checks as a library file (resources/files.py:
size, content read from the bytes, extension matching it, pixel limit), then
only pictures and PDFs are kept. Pictures are saved again from their pixels,
which drops EXIF (camera, GPS position) and anything hidden after the image;
a wide one also gets a narrower copy to show inside the post.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from attachments import queries
from attachments.models import Attachment
from communities import policy
from communities.models import Community
from core.refusals import Refused
from resources.files import RASTER_IMAGES, check_upload, reencode_image, safe_display_name, stored_name

ATTACHABLE = RASTER_IMAGES | {"application/pdf"}
ATTACHABLE_DESCRIPTION = "pictures (JPEG, PNG, GIF, WebP) and PDF files"
# An attachment's address as the markup names it (relative, or behind the site's own address).
KEY_IN_TEXT = re.compile(r"/attachments/([A-Za-z0-9_-]{22,64})/")
# One text names at most this many (more are left as they are: links to things its reader may not see).
MAX_KEYS_PER_ITEM = 50
SWEEP_BATCH = 200
SWEEP_MAX_BATCHES = 50
ORPHAN_AGE = timedelta(hours=24)
_NOT_URL_SAFE = re.compile(r"[^A-Za-z0-9_-]+")
_MARKDOWN_SPECIAL = re.compile(r"([\\\[\]()*_`<>!])")


class AttachmentError(Refused):
    """An upload that can't be taken; the message is shown beside the text box."""


def url_filename(display_name: str, extension: str) -> str:
    """ "Ward plan (v2).JPEG" → "Ward-plan-v2.jpg": safe in a URL, in markdown and in a header."""
    stem = PurePosixPath(display_name).stem
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    cleaned = _NOT_URL_SAFE.sub("-", ascii_stem).strip("-_")[:80].strip("-_")
    return f"{cleaned or 'file'}.{extension}"


def markdown_for(attachment: Attachment, display_name: str) -> str:
    """What goes into the text: a picture for an image, a link for a PDF."""
    url = attachment.get_absolute_url()
    if attachment.is_image:
        return f"![{_escaped(PurePosixPath(display_name).stem)}]({url})"
    return f"[{_escaped(display_name)}]({url})"


def _escaped(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def upload(uploader: User, community: Community, file: UploadedFile) -> tuple[Attachment, str]:
    """Check, clean and store ``file``; return the new attachment and the markdown naming it.

    Raises ``ValidationError`` for the file itself (code ``resources.files.TOO_LARGE`` when over
    the size limit) and ``AttachmentError`` for who may upload and how much.
    """
    if not policy.can_post(uploader, community):
        raise AttachmentError("Only members can add pictures and files here.")
    quota = settings.ATTACHMENT_DAILY_BYTES
    if queries.bytes_uploaded_since(uploader, timezone.now() - timedelta(days=1)) + (file.size or 0) > quota:
        raise AttachmentError(
            f"You have uploaded {quota // 1_048_576} MB of pictures and files today, the most a day allows. "
            "Try again tomorrow.",
            status=429,
        )
    checked = check_upload(file)
    if checked.mime not in ATTACHABLE:
        raise ValidationError(f"Only {ATTACHABLE_DESCRIPTION} can go into a post. Share other files in the library.")
    display_name = safe_display_name(file.name or "")
    attachment = Attachment(
        community=community,
        uploader=uploader,
        filename=url_filename(display_name, checked.extension),
        content_type=checked.mime,
    )
    try:
        if checked.mime in RASTER_IMAGES:
            clean = reencode_image(file, checked.mime)
            if clean is None:
                raise ValidationError("The image could not be read; it may be damaged.")
            attachment.file.save(clean.name or "", clean, save=False)
            attachment.size = clean.size
            narrow = reencode_image(file, checked.mime, max_width=settings.ATTACHMENT_THUMBNAIL_WIDTH)
            if narrow is not None:
                attachment.thumbnail.save(narrow.name or "", narrow, save=False)
        else:
            attachment.file.save(stored_name(checked), file, save=False)
            attachment.size = checked.size
        attachment.save()
    except Exception:
        _delete_files([attachment.file.name, attachment.thumbnail.name])
        raise
    return attachment, markdown_for(attachment, display_name)


def keys_in(texts: Iterable[str]) -> list[str]:
    found: dict[str, None] = {}
    for text in texts:
        for key in KEY_IN_TEXT.findall(text or ""):
            found.setdefault(key, None)
    return list(found)[:MAX_KEYS_PER_ITEM]


def link(
    item_field: str, item: object, *, community_id: int, uploaders: Iterable[int | None], texts: Iterable[str]
) -> int:
    """Link the unlinked attachments ``texts`` name to ``item`` (``item_field``: post, resource or event).

    Only those uploaded by ``uploaders`` (the item's author, or who just edited it) in the item's
    own community: a key copied from elsewhere, or into another community, links nothing and
    stays visible to no one new. An attachment already in an item stays in that one.
    """
    keys = keys_in(texts)
    people = [pk for pk in uploaders if pk is not None]
    if not keys or not people:
        return 0
    return Attachment.objects.filter(
        queries.unlinked_q(), key__in=keys, uploader_id__in=people, community_id=community_id
    ).update(**{item_field: item})


def sweep_orphans(now: datetime | None = None) -> int:
    """Delete attachments no item took within a day, and those of posts whose deleted content
    was purged (``policy.DELETED_CONTENT_DAYS``): rows and files, in batches; returns how many.

    Safe to run twice or side by side: each batch locks its rows (skipping those another run
    holds) and re-reads its condition under the lock, so an item saved meanwhile keeps its picture.
    """
    now = now or timezone.now()
    orphans = queries.unlinked_q() & Q(created_at__lt=now - ORPHAN_AGE)
    purged = Q(
        post__state=policy.POST_DELETED,
        post__state_changed_at__lt=now - timedelta(days=policy.DELETED_CONTENT_DAYS),
    )
    return _sweep(orphans) + _sweep(purged)


def _sweep(condition: Q) -> int:
    removed = 0
    for _ in range(SWEEP_MAX_BATCHES):
        with transaction.atomic():
            rows = list(
                Attachment.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(condition)
                .order_by("created_at")
                .only("pk", "file", "thumbnail")[:SWEEP_BATCH]
            )
            if not rows:
                break
            Attachment.objects.filter(pk__in=[row.pk for row in rows]).delete()
        # Files go once their rows are gone for good: a crash in between leaves files, never rows without them.
        _delete_files(f.name for row in rows for f in (row.file, row.thumbnail) if f and f.name)
        removed += len(rows)
    return removed


def _delete_files(names: Iterable[str | None]) -> None:
    storage = Attachment._meta.get_field("file").storage
    for name in names:
        if name:
            storage.delete(name)
