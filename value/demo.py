"""Demo value notes for `manage.py seed_demo` (idempotent: skipped once notes exist)."""

from __future__ import annotations

from accounts.models import User
from core.refusals import Refused
from discussions.models import Thread
from resources.models import Resource
from value import services
from value.items import Item
from value.models import ValueNote

# (who, cycle, what it did for them, what changed — realised only). Only people whose demo
# participation level a note cannot change (communities/demo.py's HISTORIES): every level stays shown.
ON_RESOURCE = [
    ("joe", "immediate", "Used the scale on a confused patient tonight: it gave me words for what I saw.", ""),
    ("mei", "applied", "We now re-score pain 30 minutes after every dose on our ward.", ""),
    (
        "amara",
        "realised",
        "After two months of scoring at observation rounds, fewer patients waited for analgesia.",
        "Patients waiting over an hour for analgesia went from 9 to 3 a week",
    ),
]
ON_THREAD = [
    ("tomas", "potential", "I'll bring the abbey scale to our next practice meeting.", ""),
    ("joe", "reframing", "We had been counting scores; now we count how often a score changes the plan.", ""),
]


def seed_notes(users: dict[str, User]) -> list[str]:
    if ValueNote.objects.exists():
        return []
    made = 0
    resource = Resource.objects.filter(community__slug="acute-pain").select_related("community").order_by("pk").first()
    thread = (
        Thread.objects.filter(community__slug="acute-pain", kind=Thread.Kind.QUESTION)
        .select_related("community")
        .order_by("pk")
        .first()
    )
    targets = []
    if resource is not None:
        targets.append((Item(resource.community, resource=resource), ON_RESOURCE))
    if thread is not None:
        targets.append((Item(thread.community, thread=thread), ON_THREAD))
    for item, notes in targets:
        for who, cycle, text, measure in notes:
            if who not in users:
                continue
            try:
                services.add_note(users[who], item, cycle=cycle, text=text, measure=measure, share_in_digest=True)
            except Refused:
                continue  # not a member there in this demo
            made += 1
    return [f"  {made} value notes on a resource and a question"] if made else []
