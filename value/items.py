"""What a value note is about: a thread, a post (with its thread) or a resource."""

from __future__ import annotations

from dataclasses import dataclass

from communities.models import Community
from discussions.models import Post, Thread
from resources.models import Resource


@dataclass(frozen=True)
class Item:
    """What a note is about: a thread, a post (with its thread) or a resource, already visible to the writer."""

    community: Community
    thread: Thread | None = None
    post: Post | None = None
    resource: Resource | None = None

    @property
    def kind(self) -> str:
        return "resource" if self.resource else "post" if self.post else "thread"

    @property
    def title(self) -> str:
        if self.resource is not None:
            return self.resource.title
        assert self.thread is not None
        return self.thread.title

    def url(self) -> str:
        if self.resource is not None:
            return self.resource.get_absolute_url()
        assert self.thread is not None
        if self.post is not None:
            return f"{self.thread.get_absolute_url()}#post-{self.post.pk}"
        return self.thread.get_absolute_url()
