"""Writes of the rhythm: declare a beat, remove it, mark it held (one transaction each, audited)."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from communities import audit, policy
from communities.models import Community
from core.refusals import Refused
from insights.beats import describe
from insights.models import Beat


def _check(actor: User, community: Community) -> None:
    if not policy.can_view_health(actor, community):
        raise Refused("The community's rhythm is for its facilitators.")


def add_beat(actor: User, community: Community, fields: dict[str, Any]) -> Beat:
    """``fields``: a valid BeatForm's cleaned data; only the kind's own field is kept."""
    _check(actor, community)
    kind = fields["kind"]
    beat = Beat(community=community, kind=kind, created_by=actor, label=fields.get("label") or "")
    if kind == Beat.Kind.DIGEST:
        beat.weekday = fields["weekday"]
    elif kind == Beat.Kind.SERIES:
        beat.series = fields["series"]
    elif kind == Beat.Kind.REVIEW:
        beat.every_months = fields["every_months"]
    else:
        beat.every_days = fields["every_days"]
    with transaction.atomic():
        beat.save()
        audit.record(community, actor, "rhythm.add", detail=describe(beat))
    return beat


def _beat_of(community: Community, beat_id: int) -> Beat:
    beat = Beat.objects.select_related("series").filter(community_id=community.pk, pk=beat_id).first()
    if beat is None:
        raise Beat.DoesNotExist
    return beat


def remove_beat(actor: User, community: Community, beat_id: int) -> Beat:
    _check(actor, community)
    with transaction.atomic():
        beat = _beat_of(community, beat_id)
        detail = describe(beat)
        beat.delete()
        audit.record(community, actor, "rhythm.remove", detail=detail)
    return beat


def mark_held(actor: User, community: Community, beat_id: int, at: datetime.datetime | None = None) -> Beat:
    """A digest went out or another beat happened, as a facilitator says (chats and reviews leave a record)."""
    _check(actor, community)
    beat = _beat_of(community, beat_id)
    if beat.kind not in (Beat.Kind.DIGEST, Beat.Kind.CUSTOM):
        raise Refused("This beat is checked from the community's own records.")
    beat.last_held_at = at or timezone.now()
    Beat.objects.filter(pk=beat.pk).update(last_held_at=beat.last_held_at)
    return beat
