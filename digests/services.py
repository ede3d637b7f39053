"""Changing someone's email rhythm: cadence per community, step down (the pause is accounts.services.pause_email)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts import services as accounts
from accounts.models import User
from communities.models import Cadence, Community, Membership
from core import unsubscribe as signed
from notifications.models import Notification

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


# --- The email pages' choices, and undoing one ---------------------------------------------------------
#
# Every change an email page makes returns what undoes it: a small record, signed
# into the page's undo form (core/unsubscribe.py), that puts back exactly what the
# change touched and nothing else the person may have set since.

UNDO_SALT = "digests.undo"
UNDO_MAX_AGE = timedelta(days=30)


def stop_kinds(user: User, kinds: list[str]) -> dict[str, Any]:
    """Stop emailing ``kinds`` right away (they wait for the digest); returns the undo."""
    with transaction.atomic():
        fresh = User.objects.select_for_update().only("email_notifications").get(pk=user.pk)
        current = list(fresh.email_notifications or [])
        stopped = [kind for kind in kinds if kind in current]
        if stopped:
            User.objects.filter(pk=user.pk).update(email_notifications=[k for k in current if k not in stopped])
    return {"a": "kinds", "add": stopped}


def step_cadence(user: User, community: Community, cadence: str) -> dict[str, Any]:
    membership = Membership.objects.filter(user=user, community=community).first()
    before = membership.digest_cadence if membership else ""
    set_cadence(user, community, cadence)
    return {"a": "cadence", "c": community.pk, "v": before}


def pause(user: User, until: datetime | None) -> dict[str, Any]:
    before = {
        "a": "pause",
        "p": user.email_paused,
        "pu": user.email_paused_until.isoformat() if user.email_paused_until else None,
    }
    accounts.pause_email(user, until=until)
    return before


def undo_token(user: User, undo: dict[str, Any]) -> str:
    return signed.sign({**undo, "u": user.pk}, UNDO_SALT)


def read_undo(token: str) -> dict[str, Any]:
    return signed.unsign(token, UNDO_SALT, UNDO_MAX_AGE)


def undo(user: User, record: dict[str, Any]) -> None:
    """Put back what one page's change touched (``record`` from stop_kinds, step_cadence or pause); repeatable."""
    action = record.get("a")
    if action == "kinds":
        add = [k for k in record.get("add") or [] if k in Notification.Kind.values]
        with transaction.atomic():
            fresh = User.objects.select_for_update().only("email_notifications").get(pk=user.pk)
            current = list(fresh.email_notifications or [])
            User.objects.filter(pk=user.pk).update(email_notifications=current + [k for k in add if k not in current])
    elif action == "cadence" and record.get("v") in ("", *Cadence.values):
        community = Community.objects.filter(pk=int(record.get("c") or 0)).first()
        if community is not None:
            set_cadence(user, community, record["v"])
    elif action == "pause":
        if record.get("p"):
            until = record.get("pu")
            accounts.pause_email(user, until=datetime.fromisoformat(until) if until else None)
        else:
            accounts.resume_email(user)
    else:
        raise signed.BadToken("This undo link is not valid.")
