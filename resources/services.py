"""Writes for the shared repertoire: add, edit, remove, curate, react, discuss. One transaction each."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.files.storage import Storage
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
from resources.models import Resource, ResourceFileVersion, ResourceReaction, ResourceReview, ResourceThread

TEXT_FIELDS = ("description", "summary", "in_practice")
# A removed resource can be restored by a facilitator for this long; then purge_removed deletes it.
RESTORE_WINDOW = timedelta(days=30)
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
    user: User,
    community: Community,
    *,
    fields: dict[str, Any],
    tags: list[str],
    upload: UploadedFile | None = None,
    draft: bool = False,
) -> Resource:
    if not policy.can_add_resource(user, community):
        raise ResourceError("Only members can add to this library.")
    status = Resource.Status.DRAFT if draft else Resource.Status.PUBLISHED
    resource = Resource(community=community, added_by=user, owner=user, status=status, **fields)
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
    # A replaced file is kept as an earlier version (restorable); only its preview goes.
    earlier = _earlier_version(user, resource) if upload is not None and resource.file else None
    old_files = (resource.preview.name,) if upload is not None else ()
    for name, value in fields.items():
        setattr(resource, name, value)
    render_fields(resource)
    if upload is not None:
        resource.preview = None
        _attach(resource, upload)
    resource.updated_at = timezone.now()
    # Only what this edit wrote: a facilitator's curation saved meanwhile (status, owner, endorsement,
    # review date) is not put back to what this page loaded.
    written = [*fields, *(f"{f}_html" for f in TEXT_FIELDS), "render_version", "search_text", "updated_at"]
    if upload is not None:
        written += ["file", "file_name", "file_type", "file_size", "preview"]
    with transaction.atomic():
        resource.save(update_fields=written)
        if earlier is not None:
            earlier.save()
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


def _earlier_version(user: User, resource: Resource) -> ResourceFileVersion:
    return ResourceFileVersion(
        resource=resource,
        file=resource.file.name,
        file_name=resource.file_name,
        file_type=resource.file_type,
        file_size=resource.file_size,
        replaced_by=user,
    )


def _discard_files(resource: Resource) -> None:
    for f in (resource.file, resource.preview):
        if f and f.name:
            f.storage.delete(f.name)


@transaction.atomic
def remove_resource(user: User, resource: Resource) -> Resource:
    if not policy.can_remove_resource(user, resource):
        raise ResourceError("You can't remove this resource.")
    _unpin(resource)
    Resource.objects.filter(pk=resource.pk).update(removed_at=timezone.now())
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
    if action == "pin" and resource.status not in (Resource.Status.PUBLISHED, Resource.Status.ENDORSED):
        raise ResourceError("Only a current, published resource can be pinned.")
    if action == "pin" and resource.pin_position is None:
        last = pinned.aggregate(m=Max("pin_position"))["m"] or 0
        Resource.objects.filter(pk=resource.pk).update(pin_position=last + 1)
    elif action == "unpin" and resource.pin_position is not None:
        _unpin(resource)
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


def _unpin(resource: Resource) -> None:
    """Take ``resource`` out of the pinned strip, keeping the others' positions dense (inside a transaction)."""
    position = Resource.objects.filter(pk=resource.pk).values_list("pin_position", flat=True).first()
    if position is None:
        return
    Resource.objects.filter(pk=resource.pk).update(pin_position=None)
    Resource.objects.filter(community_id=resource.community_id, pin_position__gt=position).update(
        pin_position=F("pin_position") - 1
    )
    resource.pin_position = None


def _locked(resource: Resource) -> Resource:
    locked = Resource.objects.select_for_update().select_related("community").get(pk=resource.pk)
    return locked


@transaction.atomic
def publish_resource(user: User, resource: Resource) -> Resource:
    """A draft goes out to the library."""
    resource = _locked(resource)
    if not policy.can_publish_resource(user, resource):
        raise ResourceError("Only its owner or a facilitator can publish this resource.")
    if not resource.is_draft:
        return resource
    resource.status = Resource.Status.PUBLISHED
    resource.updated_at = timezone.now()
    resource.save(update_fields=["status", "updated_at"])
    pagecache.touched(resource.community)
    audit.record(resource.community, user, "resource.publish", target_user=resource.owner, detail=_described(resource))
    return resource


@transaction.atomic
def endorse_resource(user: User, resource: Resource) -> Resource:
    """A facilitator vouches for the resource: endorsed, with their name and the date."""
    resource = _locked(resource)
    if not policy.can_endorse_resource(user, resource):
        raise ResourceError("Only facilitators can endorse resources.")
    if resource.is_superseded:
        raise ResourceError("A superseded resource can't be endorsed; endorse the one that replaces it.")
    resource.status = Resource.Status.ENDORSED
    resource.endorsed_by = user
    resource.endorsed_at = timezone.now()
    resource.save(update_fields=["status", "endorsed_by", "endorsed_at"])
    pagecache.touched(resource.community)
    audit.record(resource.community, user, "resource.endorse", target_user=resource.owner, detail=_described(resource))
    return resource


@transaction.atomic
def supersede_resource(user: User, resource: Resource, replacement: Resource) -> Resource:
    """``resource`` is replaced by ``replacement`` (same community, visible to ``user``): it leaves pins and digests."""
    community = Community.objects.select_for_update().get(pk=resource.community_id)
    resource = _locked(resource)
    if not policy.can_supersede_resource(user, resource):
        raise ResourceError("Only facilitators can mark resources as superseded.")
    replacement = Resource.objects.select_related("community").filter(pk=replacement.pk).first() or replacement
    if (
        replacement.pk == resource.pk
        or replacement.community_id != community.pk
        or not policy.can_view_resource(user, replacement)
        or replacement.is_draft
    ):
        raise ResourceError("Choose a published resource of this library to replace it.")
    if replacement.superseded_by_id == resource.pk:
        raise ResourceError("That resource is itself replaced by this one.")
    _unpin(resource)
    resource.status = Resource.Status.SUPERSEDED
    resource.superseded_by = replacement
    resource.updated_at = timezone.now()
    resource.save(update_fields=["status", "superseded_by", "updated_at"])
    pagecache.touched(community)
    audit.record(
        community,
        user,
        "resource.supersede",
        target_user=resource.owner,
        detail=_described(resource, f"replaced by “{replacement.title}”"),
    )
    return resource


@transaction.atomic
def record_review(user: User, resource: Resource, *, checked: str, next_review_by: date) -> ResourceReview:
    """A facilitator's review: what was checked, and the next date to look again."""
    resource = _locked(resource)
    if not policy.can_review_resource(user, resource):
        raise ResourceError("Only facilitators can review resources.")
    if next_review_by <= timezone.localdate():
        raise ResourceError("The next review date must be in the future.")
    review = ResourceReview.objects.create(
        resource=resource, reviewer=user, checked=checked, next_review_by=next_review_by
    )
    Resource.objects.filter(pk=resource.pk).update(review_by=next_review_by)
    resource.review_by = next_review_by
    pagecache.touched(resource.community)
    audit.record(resource.community, user, "resource.review", target_user=resource.owner, detail=_described(resource))
    return review


@transaction.atomic
def restore_resource(user: User, resource: Resource, *, now: datetime | None = None) -> Resource:
    """A removed resource back in the library, within ``RESTORE_WINDOW`` of its removal (unpinned)."""
    resource = _locked(resource)
    if not policy.can_restore_resource(user, resource.community):
        raise ResourceError("Only facilitators can restore removed resources.")
    now = now or timezone.now()
    if resource.removed_at is None:
        return resource
    if resource.removed_at < now - RESTORE_WINDOW:
        raise ResourceError("This resource was removed more than 30 days ago and can't be restored.")
    resource.removed_at = None
    resource.save(update_fields=["removed_at"])
    pagecache.touched(resource.community)
    audit.record(resource.community, user, "resource.restore", target_user=resource.owner, detail=_described(resource))
    return resource


def purge_removed(now: datetime | None = None) -> int:
    """Delete resources removed longer than ``RESTORE_WINDOW`` ago, with their files and earlier versions."""
    now = now or timezone.now()
    purged = 0
    for resource in Resource.objects.filter(removed_at__lt=now - RESTORE_WINDOW).order_by("pk")[:500]:
        names = [resource.file.name, resource.preview.name]
        names += list(resource.file_versions.values_list("file", flat=True))
        with transaction.atomic():
            resource.delete()
            transaction.on_commit(partial(_delete_files, resource.file.storage, names))
        purged += 1
    return purged


def _delete_files(storage: Storage, names: list[str]) -> None:
    for name in names:
        if name:
            storage.delete(name)


@transaction.atomic
def restore_file_version(user: User, version: ResourceFileVersion) -> Resource:
    """An earlier file becomes the current one again; the current one becomes an earlier version."""
    resource = _locked(version.resource)
    if not policy.can_edit_resource(user, resource):
        raise ResourceError("You can't change this resource's file.")
    if resource.file:
        _earlier_version(user, resource).save()
    old_preview = resource.preview.name
    resource.file = version.file.name
    resource.file_name, resource.file_type, resource.file_size = version.file_name, version.file_type, version.file_size
    resource.preview = None
    if version.file_type.startswith("image/"):
        with version.file.open("rb") as f:
            preview = make_preview(f)
        if preview is not None:
            resource.preview.save(preview.name, preview, save=False)
    resource.updated_at = timezone.now()
    resource.save()
    version.delete()
    pagecache.touched(resource.community)
    audit.record(
        resource.community, user, "resource.file_restore", target_user=resource.owner, detail=_described(resource)
    )
    storage = resource.file.storage
    transaction.on_commit(lambda: storage.delete(old_preview) if old_preview else None)
    return resource


def link_thread(user: User, resource: Resource, thread: Thread, relation: str) -> ResourceThread:
    """The resource was produced by / is discussed in ``thread`` (a facilitator or the owner; same community)."""
    if relation not in ResourceThread.Relation.values:
        raise ResourceError("Say whether the discussion produced the resource or discusses it.")
    if not policy.can_link_thread_to_resource(user, resource, thread):
        raise ResourceError("Link a discussion of this community that you can see.")
    with transaction.atomic():
        link, _ = ResourceThread.objects.get_or_create(
            resource=resource, thread=thread, relation=relation, defaults={"linked_by": user}
        )
        pagecache.touched(resource.community)
    return link


def unlink_thread(user: User, link: ResourceThread) -> None:
    if not policy.can_link_thread_to_resource(user, link.resource, link.thread):
        raise ResourceError("You can't change this resource's discussions.")
    link.delete()
    pagecache.touched(link.resource.community)


@transaction.atomic
def change_owner(user: User, resource: Resource, username: str) -> Resource:
    """A facilitator makes ``username`` (an active member of the community) the resource's owner."""
    resource = _locked(resource)
    if not policy.can_change_resource_owner(user, resource):
        raise ResourceError("Only facilitators can change a resource's owner.")
    name = username.strip().removeprefix("@")
    person = User.objects.filter(username__iexact=name, deleted_at__isnull=True).first() if name else None
    if person is None:
        raise ResourceError(f"There is nobody with the username “{name}” here.")
    if not policy.can_own_resource(person, resource.community):
        raise ResourceError(
            f"@{person.username} is not a member of {resource.community.name}: only members can own its resources."
        )
    if person.pk == resource.owner_id:
        return resource
    previous = resource.owner
    resource.owner = person
    resource.save(update_fields=["owner"])
    pagecache.touched(resource.community)
    was = f"@{previous.username}" if previous is not None and previous.deleted_at is None else "nobody"
    audit.record(
        resource.community,
        user,
        "resource.owner",
        target_user=person,
        detail=_described(resource, f"owner was {was}"),
    )
    return resource


@transaction.atomic
def unpublish_resource(user: User, resource: Resource) -> Resource:
    """Back to draft: out of the library's lists, unpinned, its endorsement withdrawn."""
    community = Community.objects.select_for_update().get(pk=resource.community_id)  # pins stay dense
    resource = _locked(resource)
    if not policy.can_unpublish_resource(user, resource):
        raise ResourceError("Only a published resource can go back to draft, and only a facilitator can do it.")
    _unpin(resource)
    resource.status = Resource.Status.DRAFT
    resource.endorsed_by, resource.endorsed_at = None, None
    resource.updated_at = timezone.now()
    resource.save(update_fields=["status", "endorsed_by", "endorsed_at", "updated_at"])
    pagecache.touched(community)
    audit.record(community, user, "resource.unpublish", target_user=resource.owner, detail=_described(resource))
    return resource
