"""Signed, scoped unsubscribe tokens and the list headers every digest carries (RFC 2369, RFC 8058)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing

SALT = "digests.unsubscribe"
MAX_AGE = timedelta(days=365)


class BadToken(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def make_token(user_id: int, community_id: int | None) -> str:
    return signing.dumps({"u": user_id, "c": community_id}, salt=SALT, compress=True)


def read_token(token: str) -> tuple[int, int | None]:
    try:
        data = signing.loads(token, salt=SALT, max_age=MAX_AGE)
    except signing.SignatureExpired:
        raise BadToken(
            "This unsubscribe link is more than a year old. Use the link in a recent email, "
            "or change your email settings after logging in."
        ) from None
    except signing.BadSignature:
        raise BadToken("This unsubscribe link is not valid. Check that you copied all of it.") from None
    return int(data["u"]), (int(data["c"]) if data.get("c") is not None else None)


def list_headers(token: str, unsubscribe_url: str) -> dict[str, str]:
    """The list headers for an "all email" ``token`` (make_token(user, None)) and its page's URL."""
    host = urlsplit(settings.SITE_URL).hostname or "localhost"
    return {
        "List-Unsubscribe": f"<{unsubscribe_url}>, <mailto:unsubscribe@{host}?subject={token}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Id": f"{settings.COPSITE_NAME} digests <digests.{host}>",
        "Precedence": "bulk",
        "Auto-Submitted": "auto-generated",
        "X-Auto-Response-Suppress": "All",
    }
