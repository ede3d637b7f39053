"""The ESP says mail to a member bounced or was reported as spam: pause their email, and say why.

Sending on to an address that bounces hurts the site's standing with every
mail provider; a complaint means the person no longer wants the mail. Either
pauses all their email (``accounts.services.pause_email``) until they resume
it on the email settings page, which says what happened.
"""

from __future__ import annotations

import logging
import zoneinfo
from datetime import datetime
from typing import Any

from allauth.account.models import EmailAddress
from django.db import IntegrityError, transaction
from django.template.defaultfilters import date as format_date
from django.utils import timezone

from accounts import services as accounts
from accounts.models import User
from replies.models import DeliveryProblem

log = logging.getLogger(__name__)


def _zone(user: User) -> Any:
    try:
        return zoneinfo.ZoneInfo(user.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        return timezone.get_default_timezone()


PAUSING = {"bounced": DeliveryProblem.Kind.BOUNCED, "complained": DeliveryProblem.Kind.COMPLAINED}


def people_at(address: str) -> list[User]:
    """Active accounts whose sign-in address, or an address of theirs, this is."""
    address = address.strip()
    ids = set(EmailAddress.objects.filter(email__iexact=address).values_list("user_id", flat=True))
    ids |= set(User.objects.filter(email__iexact=address).values_list("pk", flat=True))
    return list(User.objects.filter(pk__in=ids, is_active=True))


def reason_text(kind: str, at: datetime, user: User) -> str:
    when = format_date(timezone.localtime(at, _zone(user)), "j M Y")
    if kind == DeliveryProblem.Kind.COMPLAINED:
        return f"an email to your address was reported as spam on {when}"
    return f"your address bounced on {when}"


def record(event_type: str, address: str, *, event_id: str = "", at: datetime | None = None) -> int:
    """Pause email for everyone at ``address`` after a bounce or complaint; returns how many were paused.

    Other events are not ours to act on. An event delivered twice (same ``event_id``) acts once.
    """
    kind = PAUSING.get(event_type)
    if kind is None or not address:
        return 0
    at = at or timezone.now()
    paused = 0
    for user in people_at(address):
        try:
            with transaction.atomic():
                # One row per event and person: the unique event id makes a repeated webhook a no-op.
                once = f"{event_id[:180]}:{user.pk}" if event_id else ""
                DeliveryProblem.objects.create(user=user, address=address[:254], kind=kind, event_id=once, at=at)
                accounts.pause_email(user, reason=reason_text(kind, at, user))
        except IntegrityError:
            continue  # this event was recorded already
        log.info("email paused for user %s: %s %s", user.pk, address, kind)
        paused += 1
    return paused
