"""Changing someone's email rhythm: cadence per community, step down (the pause is accounts.services.pause_email)."""

from __future__ import annotations

from django.utils import timezone

from accounts.models import User
from communities.models import Cadence, Community, Membership

STEP_DOWN: dict[str, str] = {
    Cadence.DAILY: Cadence.WEEKLY,
    Cadence.WEEKLY: Cadence.MONTHLY,
    Cadence.MONTHLY: Cadence.OFF,
}


def set_cadence(user: User, community: Community, cadence: str) -> Membership | None:
    """'' follows the community's default (and its future changes).

    Stamps the choice: the first digest it brings comes at the person's next
    delivery hour, not at once because today's hour has already passed.
    """
    if cadence not in ("", *Cadence.values):
        raise ValueError(cadence)
    membership = Membership.objects.filter(user=user, community=community).first()
    if membership is None:
        return None
    membership.digest_cadence = cadence
    membership.digest_chosen_at = timezone.now()
    membership.save(update_fields=["digest_cadence", "digest_chosen_at", "updated_at"])
    return membership


def gentler(cadence: str) -> str:
    return STEP_DOWN.get(cadence, Cadence.OFF)
