"""Writing a value note: one transaction, policy checked on the item, a line in the community's ledger."""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from communities import ledger, policy
from communities.models import Activity
from core.refusals import Refused
from value.items import Item
from value.models import CYCLES, MEASURE_MAX, TEXT_MAX, ValueNote


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
