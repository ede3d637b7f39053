"""Signed links that turn off one kind of notification email for one person (core/unsubscribe.py signs them).

The token names the person and the kind (and, for the page's step-downs, the
community the email was about); the one-click POST turns off that kind only.
"""

from __future__ import annotations

from dataclasses import dataclass

from core import unsubscribe as signed
from core.unsubscribe import BadToken
from notifications.models import Notification

SALT = "notifications.unsubscribe"


@dataclass(frozen=True)
class Scope:
    user_id: int
    kind: str
    community_id: int | None


def make_token(user_id: int, kind: str, community_id: int | None = None) -> str:
    if kind not in Notification.Kind.values:
        raise ValueError(kind)
    return signed.sign({"u": user_id, "k": kind, "c": community_id}, SALT)


def read_token(token: str) -> Scope:
    data = signed.unsign(token, SALT)
    kind, community = data.get("k"), data.get("c")
    if kind not in Notification.Kind.values or not (community is None or isinstance(community, int)):
        raise BadToken("This unsubscribe link is not valid. Check that you copied all of it.")
    return Scope(data["u"], kind, community)
