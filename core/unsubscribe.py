"""Signed unsubscribe links and the list headers (RFC 2369, RFC 8058) every bulk or notification email carries.

Shared by the digests (a community's digest, or all email) and the
notification emails (one kind of them): each app signs its own payload under
its own salt, so a token made for one never reads as the other's.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing

MAX_AGE = timedelta(days=365)


class BadToken(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def sign(data: dict[str, Any], salt: str) -> str:
    return signing.dumps(data, salt=salt, compress=True)


def unsign(token: str, salt: str, max_age: timedelta = MAX_AGE) -> dict[str, Any]:
    """The payload of ``token``; BadToken (its message is for the page) when stale, altered or not ours."""
    try:
        data = signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired:
        raise BadToken(
            "This link is too old. Use the link in a recent email, or change your email settings after logging in."
            if max_age != MAX_AGE
            else "This unsubscribe link is more than a year old. Use the link in a recent email, "
            "or change your email settings after logging in."
        ) from None
    except signing.BadSignature:
        raise BadToken("This unsubscribe link is not valid. Check that you copied all of it.") from None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        raise BadToken("This unsubscribe link is not valid. Check that you copied all of it.")
    return data


def list_headers(token: str, unsubscribe_url: str, list_name: str, list_key: str) -> dict[str, str]:
    """List-Unsubscribe (the page, and a mailto), its one-click POST (RFC 8058), and List-Id.

    ``unsubscribe_url`` takes the one-click POST and shows its page on GET;
    ``list_key`` names the list in List-Id (``digests``, ``notifications.reply``).
    """
    host = urlsplit(settings.SITE_URL).hostname or "localhost"
    return {
        "List-Unsubscribe": f"<{unsubscribe_url}>, <mailto:unsubscribe@{host}?subject={token}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Id": f"{settings.COPSITE_NAME} {list_name} <{list_key}.{host}>",
        "Auto-Submitted": "auto-generated",
        "X-Auto-Response-Suppress": "All",
    }
