"""Reads for the email pages: what a person gets by email now, as every email page and the settings page say it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from accounts.models import User
from communities import queries
from communities.models import Cadence
from digests.forms import NOTIFICATION_KINDS


@dataclass(frozen=True)
class EmailState:
    """What ``user`` receives: the pause, the kinds emailed right away, each community's digest."""

    paused: bool
    paused_until: datetime | None
    right_away: list[str]  # the settings page's labels, in its order
    digests: list[tuple[str, str]]  # (community name, "weekly digest" / "no digest")


def addressee(user_id: int) -> User | None:
    """The person a signed email link was made for, while their account is open."""
    return User.objects.filter(pk=user_id, is_active=True, deleted_at__isnull=True).first()


def email_state(user_id: int) -> EmailState:
    """Read fresh from the database: what the pages state is what was saved, never a form's leftovers."""
    user = User.objects.only("email_paused", "email_paused_until", "email_notifications").get(pk=user_id)
    chosen = set(user.email_notifications or [])
    digests = []
    for m in queries.active_memberships_of(user):
        cadence = m.effective_cadence
        digests.append((m.community.name, "no digest" if cadence == Cadence.OFF else f"{cadence} digest"))
    return EmailState(
        paused=user.email_paused,
        paused_until=user.email_paused_until,
        right_away=[label for kind, label in NOTIFICATION_KINDS if kind in chosen],
        digests=digests,
    )
