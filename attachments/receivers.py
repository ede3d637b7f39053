"""Linking attachments to the item whose saved text names them, inside the item's own transaction.

The apps below announce their saves (discussions: a post published or held;
resources: a resource saved; events: an event saved); nothing there knows
attachments exist.
"""

from __future__ import annotations

from typing import Any

from attachments import services
from discussions import signals as discussion_signals
from discussions.models import Post
from events import signals as event_signals
from events.models import Event
from resources import signals as resource_signals
from resources.models import Resource

RESOURCE_TEXTS = ("description", "summary", "in_practice")


def _actor_pk(actor: Any) -> int | None:
    return getattr(actor, "pk", None)


def post_saved(sender: object, post: Post, actor: Any = None, **kwargs: Any) -> None:
    """A post published, edited, or held for review: its author's pictures (or its editor's) go with it."""
    services.link(
        "post",
        post,
        community_id=post.thread.community_id,
        uploaders=[post.author_id, _actor_pk(actor)],
        texts=[post.body],
    )


def resource_saved(sender: object, resource: Resource, actor: Any = None, **kwargs: Any) -> None:
    services.link(
        "resource",
        resource,
        community_id=resource.community_id,
        uploaders=[resource.added_by_id, _actor_pk(actor)],
        texts=[getattr(resource, name) for name in RESOURCE_TEXTS],
    )


def event_saved(sender: object, event: Event, actor: Any = None, **kwargs: Any) -> None:
    services.link(
        "event",
        event,
        community_id=event.community_id,
        uploaders=[event.created_by_id, _actor_pk(actor)],
        texts=[event.description],
    )


def connect() -> None:
    discussion_signals.post_published.connect(post_saved, dispatch_uid="attachments-post-published")
    discussion_signals.post_held.connect(post_saved, dispatch_uid="attachments-post-held")
    resource_signals.resource_saved.connect(resource_saved, dispatch_uid="attachments-resource-saved")
    event_signals.event_saved.connect(event_saved, dispatch_uid="attachments-event-saved")
