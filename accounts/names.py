"""Telling people apart: look-alike usernames are refused, shared display names show the username.

Two names "look alike" when they have the same *skeleton*: the Unicode TR39
confusable skeleton (https://www.unicode.org/reports/tr39/#Confusable_Detection),
case-folded, as computed by the ``disarm`` library. ``аmara`` with a Cyrillic
``а``, ``AMARA``, ``amaraI`` and ``amara1`` all have the skeleton ``amaral``
or ``amara``; so a second person can't register any of them next to ``amara``.

Display names are free text and may repeat (two Amara Okafors are both real),
so they are not refused: instead every person carries ``name_shared``, true
while someone else's shown name has the same skeleton, and ``User.name`` then
adds the username ("Amara Okafor (@amara2)"). The flag is a column so that a
list of posts costs no extra query per row; it is kept right by ``User.save``
in the transaction that changes a name (``refresh_shared``), and
``manage.py refresh_names`` rebuilds every key and flag (after an upgrade of
``disarm``, whose minor releases may change skeletons, or a bulk import).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

import disarm
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count, Q

if TYPE_CHECKING:
    from accounts.models import User

# Keys are indexed; a skeleton can be many times longer than its name (NFKC
# expands some characters to 18), and two names alike for 255 characters are alike.
MAX_KEY_LENGTH = 255


def skeleton(text: str) -> str:
    """The TR39 skeleton of ``text``, case-folded: two texts with the same skeleton look alike."""
    # digit_policy="tr39" folds 1 and I into l, 0 into O, as TR39 does for identifiers.
    key = disarm.skeleton_key(text, digit_policy="tr39")
    # TR39 also reads "m" as "rn"; disarm leaves that fold out (it spoils prose), a name key wants it.
    return key.replace("rn", "m")[:MAX_KEY_LENGTH]


def shown_name_key(username: str, display_name: str, deleted: bool) -> str:
    """The skeleton of the name a person is shown by (display name, else username); "" once deleted."""
    if deleted:
        return ""
    return skeleton(display_name or username)


def _reserved_keys() -> set[str]:
    return {skeleton(name) for name in getattr(settings, "ACCOUNT_USERNAME_BLACKLIST", [])}


def check_username(user_model: type[User], username: str, *, exclude_pk: int | None = None) -> None:
    """Refuse a username that looks like a reserved one or like another person's (ValidationError)."""
    key = skeleton(username)
    if key in _reserved_keys():
        raise ValidationError("This username is reserved. Please choose another.", code="username_reserved")
    others = user_model._default_manager.filter(username_key=key)
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    if others.exists():
        raise ValidationError(
            "This username looks too much like someone else's here (letters from another alphabet, "
            "capitals, 1 for l or 0 for O count as the same). Please choose another.",
            code="username_lookalike",
        )


def lock_keys(keys: Iterable[str]) -> None:
    """Serialize name changes that touch the same keys, until the transaction ends.

    Two people taking the same name at once would otherwise each count only
    themself and both stay unflagged. PostgreSQL: transaction-level advisory
    locks, taken in a fixed order. SQLite runs one writer at a time anyway.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for key in sorted(set(keys) - {""}):
            lock_id = int.from_bytes(
                hashlib.blake2b(f"name:{key}".encode(), digest_size=8).digest(), "big", signed=True
            )
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock_id])


def refresh_shared(user_model: type[User], keys: Iterable[str]) -> None:
    """Set ``name_shared`` for everyone shown by one of ``keys``: true when two or more are."""
    manager = user_model._default_manager
    for key in set(keys) - {""}:
        people = manager.filter(name_key=key)
        shared = people.count() > 1
        people.exclude(name_shared=shared).update(name_shared=shared)


def refresh_all(user_model: type[User], *, batch: int = 1000) -> int:
    """Recompute every person's keys and flag; returns how many rows changed. Also used by the migration."""
    manager = user_model._default_manager
    changed = []
    rows = manager.only("pk", "username", "display_name", "deleted_at", "username_key", "name_key")
    for user in rows.order_by("pk").iterator(chunk_size=batch):
        username_key = skeleton(user.username)
        name_key = shown_name_key(user.username, user.display_name, user.deleted_at is not None)
        if (user.username_key, user.name_key) != (username_key, name_key):
            user.username_key, user.name_key = username_key, name_key
            changed.append(user)
    manager.bulk_update(changed, ["username_key", "name_key"], batch_size=batch)
    shared_keys = (
        manager.exclude(name_key="").values("name_key").annotate(people=Count("pk")).filter(people__gt=1)
    ).values("name_key")
    flagged = manager.filter(name_key__in=shared_keys).exclude(name_shared=True).update(name_shared=True)
    cleared = manager.filter(name_shared=True).exclude(Q(name_key__in=shared_keys)).update(name_shared=False)
    return len(changed) + flagged + cleared
