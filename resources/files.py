"""Checking uploaded files by their content, and making safe image previews.

The declared name and content type are the uploader's word; libmagic reads
the bytes. A file is accepted only if its content is on the allowlist *and*
its extension belongs to the same type, so `notes.jpg` that is really HTML is
refused. Files are stored under generated names and always served as
attachments; raster images also get a re-encoded PNG preview (which drops
anything hidden in the original).
"""

from __future__ import annotations

import io
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import PurePosixPath

import magic
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from PIL import Image, ImageOps, UnidentifiedImageError

# detected MIME type → (extensions it may carry, extension we store it under)
ALLOWED: dict[str, tuple[frozenset[str], str]] = {
    "application/pdf": (frozenset({"pdf"}), "pdf"),
    "image/png": (frozenset({"png"}), "png"),
    "image/jpeg": (frozenset({"jpg", "jpeg"}), "jpg"),
    "image/gif": (frozenset({"gif"}), "gif"),
    "image/webp": (frozenset({"webp"}), "webp"),
    "text/plain": (frozenset({"txt", "text", "md", "csv", "tsv"}), "txt"),
    "text/csv": (frozenset({"csv", "txt", "tsv"}), "csv"),
    "application/csv": (frozenset({"csv"}), "csv"),
    "application/msword": (frozenset({"doc"}), "doc"),
    "application/vnd.ms-excel": (frozenset({"xls"}), "xls"),
    "application/vnd.ms-powerpoint": (frozenset({"ppt"}), "ppt"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (frozenset({"docx"}), "docx"),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (frozenset({"xlsx"}), "xlsx"),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (frozenset({"pptx"}), "pptx"),
    "application/vnd.oasis.opendocument.text": (frozenset({"odt"}), "odt"),
    "application/vnd.oasis.opendocument.spreadsheet": (frozenset({"ods"}), "ods"),
    "application/vnd.oasis.opendocument.presentation": (frozenset({"odp"}), "odp"),
}
# Old Office formats are all one OLE container to libmagic.
_OLE = "application/x-ole-storage"
_OLE_EXTENSIONS = {
    "doc": "application/msword",
    "xls": "application/vnd.ms-excel",
    "ppt": "application/vnd.ms-powerpoint",
}
RASTER_IMAGES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
MAX_IMAGE_PIXELS = 40_000_000  # 40 MP: larger is a decompression bomb, not a diagram
PREVIEW_SIZE = (800, 800)
SNIFF_BYTES = 8192
# The ValidationError code of a file over the size limit (the attachment endpoint answers it with 413).
TOO_LARGE = "too_large"
# Pillow's names of the raster formats, for saving an image again in its own format.
_PILLOW_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}
_ANIMATED = {"image/gif", "image/webp", "image/png"}
# What survives of an image's own metadata when it is saved again: how it is drawn, nothing about it.
_KEPT_INFO = {"transparency", "duration", "loop", "background", "disposal", "icc_profile"}

ALLOWED_DESCRIPTION = (
    "PDF, images (PNG, JPEG, GIF, WebP), Word/Excel/PowerPoint or OpenDocument files, plain text or CSV"
)


@dataclass(frozen=True)
class CheckedFile:
    mime: str
    extension: str
    display_name: str
    size: int


def safe_display_name(name: str) -> str:
    """A download name without paths, control characters or quotes (for Content-Disposition)."""
    name = unicodedata.normalize("NFC", PurePosixPath(name.replace("\\", "/")).name)
    cleaned = "".join(ch for ch in name if unicodedata.category(ch)[0] not in {"C"} and ch not in '"<>:|?*')
    cleaned = cleaned.strip(" .")[:150]
    return cleaned or "download"


def check_upload(upload: File[bytes]) -> CheckedFile:
    """Accept or refuse an upload or a restored file by size and content; raises ValidationError saying why."""
    limit = settings.RESOURCE_MAX_UPLOAD_BYTES
    size = upload.size
    if not size:  # 0, or None: a file whose size was never measured (Django's uploads always have one)
        raise ValidationError("The file is empty.")
    if size > limit:
        raise ValidationError(
            f"The file is too large ({size / 1_048_576:.1f} MB). The limit is {limit // 1_048_576} MB.",
            code=TOO_LARGE,
        )
    display = safe_display_name(upload.name or "")
    extension = PurePosixPath(display).suffix.lower().lstrip(".")
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    mime = magic.from_buffer(head, mime=True)
    if mime == _OLE and extension in _OLE_EXTENSIONS:
        mime = _OLE_EXTENSIONS[extension]
    if mime not in ALLOWED:
        raise ValidationError(f"This kind of file can't be shared here. Allowed: {ALLOWED_DESCRIPTION}.")
    extensions, stored_extension = ALLOWED[mime]
    if extension not in extensions:
        raise ValidationError(
            f"The file's name ends in “.{extension or '(nothing)'}” but its content is {mime}. "
            "Rename it to match what it is."
        )
    if mime.startswith("text/") or mime == "application/csv":
        _check_text(upload)
    if mime in RASTER_IMAGES:
        _check_image(upload)
    return CheckedFile(mime=mime, extension=stored_extension, display_name=display, size=size)


def _check_text(upload: File[bytes]) -> None:
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError("Text files must be UTF-8 encoded.") from None
    if "\x00" in text:
        raise ValidationError("The file contains null characters; it doesn't look like text.")


def _check_image(upload: File[bytes]) -> None:
    upload.seek(0)
    try:
        with Image.open(upload) as image:
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise ValidationError("The image is too large in pixels (over 40 megapixels).")
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        raise ValidationError("The image could not be read; it may be damaged.") from None
    finally:
        upload.seek(0)


def stored_name(checked: CheckedFile) -> str:
    return f"{uuid.uuid4().hex}.{checked.extension}"


def make_preview(upload: File[bytes]) -> ContentFile | None:
    """A PNG thumbnail re-encoded from the pixels alone; None if the image can't be read."""
    upload.seek(0)
    try:
        with Image.open(upload) as image:
            image.thumbnail(PREVIEW_SIZE)
            flat = image if image.mode in ("RGB", "RGBA") else image.convert("RGBA")
            out = io.BytesIO()
            flat.save(out, format="PNG", optimize=True)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        return None
    finally:
        upload.seek(0)
    return ContentFile(out.getvalue(), name=f"{uuid.uuid4().hex}.png")


def reencode_image(upload: File[bytes], mime: str, *, max_width: int | None = None) -> ContentFile | None:
    """The image's pixels saved again in its own format, and nothing else: no EXIF (camera, GPS
    position), comments, XMP or bytes appended after the image.

    With ``max_width``: a copy narrowed to that width (the first frame of an animation), or None
    for an image already no wider. None too if the image can't be read. Run after ``check_upload``.
    """
    upload.seek(0)
    try:
        with Image.open(upload) as opened:
            if max_width is not None and opened.width <= max_width:
                return None
            # Animations stay animated; a phone's JPEG with a second picture inside (MPO) keeps the first.
            animated = mime in _ANIMATED and bool(getattr(opened, "is_animated", False)) and max_width is None
            image: Image.Image = opened if animated else ImageOps.exif_transpose(opened)
            kept = {key: value for key, value in opened.info.items() if key in _KEPT_INFO}
            image.info = kept  # exif_transpose drew a copy; an animation is saved frame by frame from the file
            if max_width is not None:
                image.thumbnail((max_width, max_width * 20))
            fmt = _PILLOW_FORMATS[mime]
            if fmt == "JPEG" and image.mode not in ("RGB", "L", "CMYK"):
                image = image.convert("RGB")
            options: dict[str, object] = {"quality": 85} if fmt in ("JPEG", "WEBP") else {}
            if kept.get("icc_profile"):
                options["icc_profile"] = kept["icc_profile"]
            if fmt == "GIF" and "transparency" in kept and image.mode == "P":
                options["transparency"] = kept["transparency"]
            out = io.BytesIO()
            image.save(out, format=fmt, save_all=animated, **options)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None
    finally:
        upload.seek(0)
    return ContentFile(out.getvalue(), name=f"{uuid.uuid4().hex}.{ALLOWED[mime][1]}")
