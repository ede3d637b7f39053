"""Writing a value note: one transaction, policy checked on the item, a line in the community's ledger."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from accounts.models import User
from communities import ledger, policy
from communities.models import Activity, Community
from core.refusals import Refused
from discussions.models import Post, Thread
from resources.models import Resource
from value.models import CYCLES, MEASURE_MAX, TEXT_MAX, ValueNote


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


def add_note(
    author: User, item: Item, *, cycle: str, text: str, measure: str = "", share_in_digest: bool = False
) -> ValueNote:
    """Store one note and count it in the ledger. The view has found ``item`` through policy."""
    if not policy.can_add_value_note(author, item.community):
        raise Refused("Only members of this community can add value notes here.")
    text, measure = text.strip(), measure.strip()
    # The form says all this in words; these guard other callers (seed data, imports).
    if cycle not in CYCLES or not text or len(text) > TEXT_MAX or len(measure) > MEASURE_MAX:
        raise Refused("That value note is not complete.", status=400)
    if cycle == ValueNote.Cycle.REALISED and not measure:
        raise Refused("Say what changed: realised value needs a measure.", status=400)
    with transaction.atomic():
        note = ValueNote.objects.create(
            community=item.community,
            author=author,
            thread=item.thread,
            post=item.post,
            resource=item.resource,
            cycle=cycle,
            text=text,
            measure=measure,
            share_in_digest=share_in_digest,
        )
        ledger.record(author, item.community, Activity.Kind.VALUE, at=note.created_at)
    return note
