"""Signed, scoped digest unsubscribe tokens and the list headers every digest carries (core/unsubscribe.py)."""

from __future__ import annotations

from core import unsubscribe as signed
from core.unsubscribe import MAX_AGE, BadToken

__all__ = ["MAX_AGE", "SALT", "BadToken", "list_headers", "make_token", "read_token"]

SALT = "digests.unsubscribe"


def make_token(user_id: int, community_id: int | None) -> str:
    return signed.sign({"u": user_id, "c": community_id}, SALT)


def read_token(token: str) -> tuple[int, int | None]:
    data = signed.unsign(token, SALT)
    return data["u"], (int(data["c"]) if data.get("c") is not None else None)


def list_headers(token: str, unsubscribe_url: str) -> dict[str, str]:
    """The list headers for an "all email" ``token`` (make_token(user, None)) and its page's URL."""
    return {**signed.list_headers(token, unsubscribe_url, "digests", "digests"), "Precedence": "bulk"}
