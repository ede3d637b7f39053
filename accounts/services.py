"""Writes to a person's own account that pages show."""

from __future__ import annotations

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
