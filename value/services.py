"""Writing value notes: add (a line in the community's ledger), edit and delete by the author, removal by a
facilitator (audited). One transaction each; pages showing the note are refreshed for visitors."""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from communities import audit, ledger, policy
from communities.models import Activity
from core import pagecache
from core.refusals import Refused
from value.items import Item
from value.models import CYCLES, MEASURE_MAX, TEXT_MAX, ValueNote


def add_note(
    author: User, item: Item, *, cycle: str, text: str, measure: str = "", share_in_digest: bool = False
) -> ValueNote:
    """Store one note and count it in the ledger. The view has found ``item`` through policy."""
    if not policy.can_add_value_note(author, item.community):
        raise Refused("Only members of this community can add value notes here.")
    text, measure = _checked(cycle, text, measure)
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
        pagecache.touched(item.community)
    return note


def _checked(cycle: str, text: str, measure: str) -> tuple[str, str]:
    text, measure = text.strip(), measure.strip()
    # The form says all this in words; these guard other callers (seed data, imports).
    if cycle not in CYCLES or not text or len(text) > TEXT_MAX or len(measure) > MEASURE_MAX:
        raise Refused("That value note is not complete.", status=400)
    if cycle == ValueNote.Cycle.REALISED and not measure:
        raise Refused("Say what changed: realised value needs a measure.", status=400)
    return text, measure


def edit_note(
    author: User, note: ValueNote, *, cycle: str, text: str, measure: str = "", share_in_digest: bool = False
) -> ValueNote:
    """The author changes their note (what kind of value, the words, the measure, sharing)."""
    if not policy.can_edit_value_note(author, note):
        raise Refused("Only its author, as a member of this community, can edit this value note.")
    text, measure = _checked(cycle, text, measure)
    with transaction.atomic():
        ValueNote.objects.filter(pk=note.pk).update(
            cycle=cycle, text=text, measure=measure, share_in_digest=share_in_digest
        )
        pagecache.touched(note.community)
    note.cycle, note.text, note.measure, note.share_in_digest = cycle, text, measure, share_in_digest
    return note


def delete_note(actor: User, note: ValueNote) -> None:
    """The author deletes their note, or a facilitator removes someone's (recorded in the audit log)."""
    if not policy.can_delete_value_note(actor, note):
        raise Refused("You can't delete this value note.")
    with transaction.atomic():
        ValueNote.objects.filter(pk=note.pk).delete()
        pagecache.touched(note.community)
        if note.author_id != actor.pk:
            snippet = note.text if len(note.text) <= 80 else note.text[:79] + "…"
            audit.record(
                note.community,
                actor,
                "value_note.remove",
                target_user=note.author,
                detail=f"{ValueNote.Cycle(note.cycle).label} note: “{snippet}”",
            )
