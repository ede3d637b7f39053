"""Writes to a person's own account that pages show, and the one email pause."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from accounts.models import User
from core import pagecache


@transaction.atomic
def update_profile(user: User, *, display_name: str, bio: str, time_zone: str) -> User:
    """Save the profile fields; a new display name shows wherever the person wrote, the rest on their profile."""
    renamed = display_name != user.display_name
    user.display_name, user.bio, user.time_zone = display_name, bio, time_zone
    user.save(update_fields=["display_name", "bio", "time_zone"])
    if renamed:
        pagecache.touched_everything()
    else:
        pagecache.touched()
    return user


def pause_email(user: User, *, until: datetime | None = None, reason: str = "") -> None:
    """Stop all email but account mail, until ``until`` (None: until the person turns it back on).

    ``reason``: why the site paused it (a bounce), shown on the email settings page.
    """
    reason = reason[:200]
    User.objects.filter(pk=user.pk).update(email_paused=True, email_paused_until=until, email_paused_reason=reason)
    user.email_paused, user.email_paused_until, user.email_paused_reason = True, until, reason


def resume_email(user: User) -> None:
    User.objects.filter(pk=user.pk).update(email_paused=False, email_paused_until=None, email_paused_reason="")
    user.email_paused, user.email_paused_until, user.email_paused_reason = False, None, ""


def resume_ended_pauses(now: datetime) -> int:
    """Turn email back on for everyone whose pause for a while has ended; returns how many."""
    return User.objects.filter(email_paused=True, email_paused_until__lte=now).update(
        email_paused=False, email_paused_until=None, email_paused_reason=""
    )
