"""``Thread.tag_names``: each thread's tag names stored on the thread row.

Thread lists and thread pages show tags on every row; reading them from
taggit's tables cost a query per page (and a join through content types).
The names are copied onto the thread whenever taggit's rows change, through
signals, so every writer (services, the restore command, the admin, renaming
or deleting a tag) keeps them current without knowing about the copy.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.contenttypes.models import ContentType
from django.db.models.signals import post_delete, post_save
from taggit.models import Tag, TaggedItem

from discussions.models import Thread

BATCH = 1000


def refresh(thread_ids: Iterable[int]) -> None:
    """Copy taggit's tag names (sorted) onto these threads."""
    ids = list(dict.fromkeys(thread_ids))
    thread_type = ContentType.objects.get_for_model(Thread)
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        names: dict[int, list[str]] = {pk: [] for pk in batch}
        rows = (
            TaggedItem.objects.filter(content_type=thread_type, object_id__in=batch)
            .order_by("tag__name")
            .values_list("object_id", "tag__name")
        )
        for object_id, name in rows:
            names[object_id].append(name)
        for pk, tag_list in names.items():
            Thread.objects.filter(pk=pk).exclude(tag_names=tag_list).update(tag_names=tag_list)


def refresh_all() -> None:
    """After bulk loads that send no signals (benchmark seeding)."""
    refresh(Thread.objects.values_list("pk", flat=True))


def _item_changed(sender, instance: TaggedItem, **kwargs) -> None:
    if instance.content_type_id == ContentType.objects.get_for_model(Thread).pk:
        refresh([instance.object_id])


def _tag_renamed(sender, instance: Tag, created: bool = False, **kwargs) -> None:
    if created:
        return
    thread_type = ContentType.objects.get_for_model(Thread)
    refresh(TaggedItem.objects.filter(tag=instance, content_type=thread_type).values_list("object_id", flat=True))


def connect() -> None:
    post_save.connect(_item_changed, sender=TaggedItem, dispatch_uid="thread-tag-names-save")
    post_delete.connect(_item_changed, sender=TaggedItem, dispatch_uid="thread-tag-names-delete")
    post_save.connect(_tag_renamed, sender=Tag, dispatch_uid="thread-tag-names-rename")
