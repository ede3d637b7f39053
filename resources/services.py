"""Writes for the shared repertoire: add, edit, remove, curate, react, discuss. One transaction each."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone

from accounts.models import User
from communities import audit, ledger, policy
from communities.models import Activity, Community
from core import pagecache
from core.markup import RENDER_VERSION, render
from core.refusals import Refused
from core.search import update_vector
from discussions import services as discussions
from discussions.models import Thread
from resources import signals
from resources.files import check_upload, make_preview, stored_name
from resources.models import Resource, ResourceReaction

TEXT_FIELDS = ("description", "summary", "in_practice")
MAX_TAGS = 8


class ResourceError(Refused):
    """A resource action that can't happen; the message is shown to the person."""


def render_fields(resource: Resource) -> None:
    texts = []
    for field in TEXT_FIELDS:
        rendered = render(getattr(resource, field))
        setattr(resource, f"{field}_html", rendered.html)
        texts.append(rendered.text)
    resource.render_version = RENDER_VERSION
    citation = " ".join(
        str(v)
        for v in (
            resource.citation_authors,
            resource.citation_title,
            resource.citation_venue,
            resource.citation_year or "",
        )
        if v
    )
    resource.search_text = "\n".join(filter(None, [*texts, resource.try_this, citation, resource.file_name]))


def index_resource(resource: Resource) -> None:
    update_vector(Resource.objects.filter(pk=resource.pk), {"A": resource.title, "B": resource.search_text})


def _described(resource: Resource, detail: str = "") -> str:
    return f"resource “{resource.title}”" + (f": {detail}" if detail else "")


def _attach(resource: Resource, upload: UploadedFile) -> None:
    checked = check_upload(upload)  # ValidationError reaches the form
    resource.file.save(stored_name(checked), upload, save=False)
    resource.file_name, resource.file_type, resource.file_size = checked.display_name, checked.mime, checked.size
    if checked.mime.startswith("image/"):
        preview = make_preview(upload)
        if preview is not None:
            resource.preview.save(preview.name, preview, save=False)


def add_resource(
    user: User, community: Community, *, fields: dict[str, Any], tags: list[str], upload: UploadedFile | None = None
) -> Resource:
    if not policy.can_add_resource(user, community):
        raise ResourceError("Only members can add to this library.")
    resource = Resource(community=community, added_by=user, **fields)
    render_fields(resource)
    if upload is not None:
        _attach(resource, upload)
    try:
        with transaction.atomic():
            resource.save()
            resource.tags.set(tags[:MAX_TAGS])
            index_resource(resource)
            ledger.record(user, community, Activity.Kind.RESOURCE)
            pagecache.touched(community)
            signals.resource_saved.send(Resource, resource=resource, actor=user)
    except Exception:
        _discard_files(resource)
        raise
    return resource


def edit_resource(
    user: User, resource: Resource, *, fields: dict[str, Any], tags: list[str], upload: UploadedFile | None = None
) -> Resource:
    if not policy.can_edit_resource(user, resource):
        raise ResourceError("You can't edit this resource.")
    old_files = (resource.file.name, resource.preview.name) if upload is not None else ()
    for name, value in fields.items():
        setattr(resource, name, value)
    render_fields(resource)
    if upload is not None:
        resource.preview = None
        _attach(resource, upload)
    resource.updated_at = timezone.now()
    with transaction.atomic():
        resource.save()
        resource.tags.set(tags[:MAX_TAGS])
        index_resource(resource)
        pagecache.touched(resource.community)
        signals.resource_saved.send(Resource, resource=resource, actor=user)
        if user.pk != resource.added_by_id:
            audit.record(
                resource.community, user, "resource.edit", target_user=resource.added_by, detail=_described(resource)
            )
    storage = resource.file.storage
    transaction.on_commit(lambda: [storage.delete(name) for name in old_files if name])
    return resource


def _discard_files(resource: Resource) -> None:
    for f in (resource.file, resource.preview):
        if f and f.name:
            f.storage.delete(f.name)


@transaction.atomic
def remove_resource(user: User, resource: Resource) -> Resource:
    if not policy.can_remove_resource(user, resource):
        raise ResourceError("You can't remove this resource.")
    Resource.objects.filter(pk=resource.pk).update(removed_at=timezone.now(), pin_position=None)
    pagecache.touched(resource.community)
    audit.record(
        resource.community, user, "resource.remove", target_user=resource.added_by, detail=_described(resource)
    )
    return resource


@transaction.atomic
def set_pin(user: User, resource: Resource, action: str) -> None:
    """pin / unpin / up / down. Positions are 1..n per community, kept dense."""
    community = Community.objects.select_for_update().get(pk=resource.community_id)
    resource = Resource.objects.select_related("community").get(pk=resource.pk)
    if not policy.can_pin_resource(user, resource):
        raise ResourceError("Only facilitators can pin resources.")
    pinned = Resource.objects.filter(community=community, pin_position__isnull=False, removed_at__isnull=True)
    if action == "pin" and resource.pin_position is None:
        last = pinned.aggregate(m=Max("pin_position"))["m"] or 0
        Resource.objects.filter(pk=resource.pk).update(pin_position=last + 1)
    elif action == "unpin" and resource.pin_position is not None:
        Resource.objects.filter(pk=resource.pk).update(pin_position=None)
        pinned.filter(pin_position__gt=resource.pin_position).update(pin_position=F("pin_position") - 1)
    elif action in ("up", "down") and resource.pin_position is not None:
        target = resource.pin_position + (-1 if action == "up" else 1)
        neighbour = pinned.filter(pin_position=target).first()
        if neighbour is not None:
            Resource.objects.filter(pk=neighbour.pk).update(pin_position=resource.pin_position)
            Resource.objects.filter(pk=resource.pk).update(pin_position=target)
    else:
        return
    pagecache.touched(community)
    audit.record(
        resource.community, user, f"resource.{action}", target_user=resource.added_by, detail=_described(resource)
    )


def toggle_helpful(user: User, resource: Resource) -> tuple[bool, int]:
    if not policy.can_react_to_resource(user, resource):
        raise ResourceError("You can't mark this resource as helpful.")
    with transaction.atomic():
        locked = Resource.objects.select_for_update().get(pk=resource.pk)
        pagecache.touched(resource.community)  # the helpful count on its page and card
        deleted, _ = ResourceReaction.objects.filter(resource=locked, user=user).delete()
        if deleted:
            Resource.objects.filter(pk=locked.pk).update(helpful_count=F("helpful_count") - deleted)
            return False, locked.helpful_count - deleted
        try:
            with transaction.atomic():
                ResourceReaction.objects.create(resource=locked, user=user)
        except IntegrityError:
            return True, locked.helpful_count
        Resource.objects.filter(pk=locked.pk).update(helpful_count=F("helpful_count") + 1)
        ledger.record(user, resource.community, Activity.Kind.REACTION)
        return True, locked.helpful_count + 1


def start_discussion(user: User, resource: Resource) -> Thread:
    """The resource's discussion thread, created on first use (safe to click twice)."""
    if not policy.can_discuss_resource(user, resource):
        raise ResourceError("Join the community to discuss this resource.")
    if resource.thread_id and resource.thread is not None:
        return resource.thread
    with transaction.atomic():
        locked = Resource.objects.select_for_update().get(pk=resource.pk)
        if locked.thread_id:
            return Thread.objects.get(pk=locked.thread_id)
        url = settings.SITE_URL + resource.get_absolute_url()
        body = (
            f"Discussion of the resource **[{_escape_md(resource.title)}]({url})**.\n\nWhat did you try? What happened?"
        )
        thread = discussions.start_thread(
            user,
            resource.community,
            title=f"About: {resource.title}"[:200],
            body=body,
            tags=list(resource.tags.names()),
        )
        Resource.objects.filter(pk=locked.pk).update(thread=thread)
        pagecache.touched(resource.community)
    return thread


def _escape_md(text: str) -> str:
    return "".join("\\" + ch if ch in "\\`*_{}[]()#+-.!<>|" else ch for ch in text)
