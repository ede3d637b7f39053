"""Reply addresses: ``reply+<token>@REPLY_DOMAIN``, one per person, thread and post replied to.

The token is the id of a ReplyKey row (base32) and a MAC (base32, 80 bits) over
that id and what the row binds: the person, the thread and the post. The MAC
is the salted HMAC-SHA256 of SECRET_KEY that ``django.core.signing`` uses, under
this module's own salt, so a token made for anything else never verifies here. Lower case only:
mail systems may change the case of a local part. "reply+" and the token fit
in well under the 64 characters a local part may have.

A key works until ``expires_at`` (REPLY_KEY_DAYS after the last email that
carried it) unless revoked: when its person leaves the community or deletes
their account (replies/receivers.py).
"""

from __future__ import annotations

import base64
import re
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from accounts.models import User
from communities import policy
from discussions.models import Post, Thread
from replies.models import ReplyKey

SALT = "replies.reply-address"
LOCAL_PREFIX = "reply+"
MAC_CHARS = 16  # 80 bits
_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
TOKEN = re.compile(r"([a-z2-7]{1,13})-([a-z2-7]{16})")


class BadToken(Exception):
    """A token that names no usable key; the message says which way (for the record, not for the sender)."""


def _b32_int(number: int) -> str:
    digits = []
    while True:
        number, rest = divmod(number, 32)
        digits.append(_ALPHABET[rest])
        if not number:
            return "".join(reversed(digits))


def _int_b32(text: str) -> int:
    number = 0
    for char in text:
        number = number * 32 + _ALPHABET.index(char)
    return number


def _mac(key_id: int, user_id: int, thread_id: int, post_id: int | None) -> str:
    value = f"{key_id}:{user_id}:{thread_id}:{post_id or 0}"
    digest = salted_hmac(SALT, value, algorithm="sha256").digest()
    return base64.b32encode(digest).decode().lower()[:MAC_CHARS]


def token_for(key: ReplyKey) -> str:
    return f"{_b32_int(key.pk)}-{_mac(key.pk, key.user_id, key.thread_id, key.post_id)}"


def address_for(key: ReplyKey) -> str:
    return f"{LOCAL_PREFIX}{token_for(key)}@{settings.REPLY_DOMAIN}"


def issue(user: User, thread: Thread, post: Post | None = None) -> ReplyKey:
    """The person's key for this thread and post, made or reused, valid for REPLY_KEY_DAYS from now."""
    now = timezone.now()
    expires = now + timedelta(days=settings.REPLY_KEY_DAYS)
    key = (
        ReplyKey.objects.filter(user=user, thread=thread, post=post, revoked_at__isnull=True, expires_at__gt=now)
        .order_by("-pk")
        .first()
    )
    if key is None:
        return ReplyKey.objects.create(user=user, thread=thread, post=post, created_at=now, expires_at=expires)
    ReplyKey.objects.filter(pk=key.pk).update(expires_at=expires)
    key.expires_at = expires
    return key


def reply_address(user: User, thread: Thread, post: Post | None = None) -> str | None:
    """Where ``user`` may answer ``thread`` (under ``post``); None when reply by email is off or they can't reply."""
    if not settings.REPLY_BY_EMAIL or not settings.REPLY_DOMAIN:
        return None
    if not user.is_active or not policy.can_reply(user, thread):
        return None
    return address_for(issue(user, thread, post))


def reply_addresses(pairs: list[tuple[User, Thread]]) -> dict[tuple[int, int], str]:
    """``reply_address(user, thread)`` for many people and threads at once (a digest build): three queries.

    Keyed by (user id, thread id); pairs whose person may not reply, or all of
    them when reply by email is off, are left out.
    """
    if not settings.REPLY_BY_EMAIL or not settings.REPLY_DOMAIN:
        return {}
    wanted = {(u.pk, t.pk): (u, t) for u, t in pairs if u.is_active and policy.can_reply(u, t)}
    if not wanted:
        return {}
    now = timezone.now()
    expires = now + timedelta(days=settings.REPLY_KEY_DAYS)
    keys: dict[tuple[int, int], ReplyKey] = {}
    for key in ReplyKey.objects.filter(
        user_id__in={u for u, _t in wanted},
        thread_id__in={t for _u, t in wanted},
        post__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=now,
    ).order_by("pk"):
        if (key.user_id, key.thread_id) in wanted:
            keys[key.user_id, key.thread_id] = key  # the newest wins, as in issue()
    if keys:
        ReplyKey.objects.filter(pk__in=[k.pk for k in keys.values()]).update(expires_at=expires)
    missing = [
        ReplyKey(user=user, thread=thread, post=None, created_at=now, expires_at=expires)
        for pair, (user, thread) in wanted.items()
        if pair not in keys
    ]
    for key in ReplyKey.objects.bulk_create(missing):
        keys[key.user_id, key.thread_id] = key
    return {pair: address_for(key) for pair, key in keys.items()}


def tokens_in(text: str) -> list[str]:
    """Tokens of addresses at REPLY_DOMAIN found in a header's text, in order."""
    domain = re.escape(settings.REPLY_DOMAIN)
    pattern = re.compile(
        rf"{re.escape(LOCAL_PREFIX)}([a-z2-7]{{1,13}}-[a-z2-7]{{16}})@{domain}(?![\w.-])", re.IGNORECASE
    )
    return [match.lower() for match in pattern.findall(text or "")]


def read(token: str) -> ReplyKey:
    """The key a token names, checked: genuine, not expired, not revoked. Raises BadToken."""
    match = TOKEN.fullmatch(token.lower())
    if match is None:
        raise BadToken("not a reply token")
    key_part, mac = match.groups()
    key = ReplyKey.objects.select_related("user", "thread__community", "post").filter(pk=_int_b32(key_part)).first()
    if key is None or not constant_time_compare(mac, _mac(key.pk, key.user_id, key.thread_id, key.post_id)):
        raise BadToken("the token does not verify")
    if key.revoked_at is not None:
        raise BadToken("the reply address was revoked")
    if key.expires_at <= timezone.now():
        raise BadToken("the reply address has expired")
    return key


def revoke(user_id: int, *, community_id: int | None = None) -> int:
    """Revoke a person's keys (in one community, or all); returns how many."""
    keys = ReplyKey.objects.filter(user_id=user_id, revoked_at__isnull=True)
    if community_id is not None:
        keys = keys.filter(thread__community_id=community_id)
    return keys.update(revoked_at=timezone.now())
