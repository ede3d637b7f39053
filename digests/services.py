"""Changing someone's email rhythm: cadence per community, pause, step down."""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from communities.models import Cadence, Community, Membership

STEP_DOWN: dict[str, str] = {
    Cadence.DAILY: Cadence.WEEKLY,
    Cadence.WEEKLY: Cadence.MONTHLY,
    Cadence.MONTHLY: Cadence.OFF,
}


def set_cadence(user: User, community: Community, cadence: str) -> Membership | None:
    """'' follows the community's default (and its future changes)."""
    if cadence not in ("", *Cadence.values):
        raise ValueError(cadence)
    membership = Membership.objects.filter(user=user, community=community).first()
    if membership is None:
        return None
    membership.digest_cadence = cadence
    membership.save(update_fields=["digest_cadence", "updated_at"])
    return membership


def gentler(cadence: str) -> str:
    return STEP_DOWN.get(cadence, Cadence.OFF)


@transaction.atomic
def pause_all(user: User, paused: bool = True) -> None:
    User.objects.filter(pk=user.pk).update(email_paused=paused)
    user.email_paused = paused
