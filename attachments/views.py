"""Uploading an attachment (JSON for static/js/attach.js) and serving one (after the policy check)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, JsonResponse
from django.views.decorators.http import require_POST

from accounts.models import signed_in
from attachments import queries, services
from communities import policy
from core import ratelimit
from core.http import harden_file_response
from resources.files import TOO_LARGE


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@require_POST
def upload(request: HttpRequest, slug: str) -> JsonResponse:
    """POST a multipart ``file``: 201 with the markdown to insert, or an ``error`` sentence."""
    try:
        community = policy.get_community_or_404(request.user, slug)
    except Http404:
        return _error("No such community.", 404)
    if not request.user.is_authenticated:
        return _error("Log in to add pictures and files.", 403)
    if not policy.can_post(request.user, community):
        return _error("Only members can add pictures and files here.", 403)
    if refusal := ratelimit.check(request, "attach"):
        response = _error(refusal.message, 429)
        response["Retry-After"] = str(refusal.wait)
        return response
    file = request.FILES.get("file")
    if file is None:
        return _error("Choose a picture or a PDF file to upload.", 400)
    try:
        attachment, markdown = services.upload(signed_in(request), community, file)
    except ValidationError as exc:
        return _error(" ".join(exc.messages), 413 if exc.code == TOO_LARGE else 400)
    except services.AttachmentError as exc:
        return _error(exc.message, exc.status)
    return JsonResponse({"markdown": markdown, "url": attachment.get_absolute_url()}, status=201)


def serve(request: HttpRequest, key: str, filename: str, thumbnail: bool = False) -> FileResponse:
    """The file to exactly those who may see the item it is in; the same 404 for everything else.

    Pictures are shown inline (the post's <img>), PDFs always download; both with the headers
    every uploaded file gets (``harden_file_response``).
    """
    attachment = queries.for_serving(key)
    if attachment is None or attachment.filename != filename:
        raise Http404("No such file.")
    if not policy.can_view_attachment(request.user, attachment):
        raise Http404("No such file.")
    if thumbnail and not attachment.is_image:
        raise Http404("No thumbnail.")
    stored = attachment.thumbnail if thumbnail and attachment.thumbnail else attachment.file
    try:
        handle = stored.open("rb")
    except FileNotFoundError:
        raise Http404("No such file.") from None
    response = FileResponse(
        handle,
        as_attachment=not attachment.is_image,
        filename=attachment.filename,
        content_type=attachment.content_type,
    )
    harden_file_response(response)
    return response
