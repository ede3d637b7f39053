"""Signed links that turn off one kind of email a person chose (``User.email_notifications``), and their headers.

Notification emails, bookmark reminders and event reminders each carry one
for their own kind (core/unsubscribe.py signs it): the one-click POST turns
off that kind only (digests.views.notification_unsubscribe). The token
names the person, the kind and, for the page's step-downs, the community the
email was about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse

from accounts.models import User
from core import unsubscribe as signed
from core.unsubscribe import BadToken

SALT = "notifications.unsubscribe"
_KIND = re.compile(r"[a-z_]{1,20}")


@dataclass(frozen=True)
class Scope:
    user_id: int
    kind: str
    community_id: int | None


def make_token(user_id: int, kind: str, community_id: int | None = None) -> str:
    if not _KIND.fullmatch(kind):
        raise ValueError(kind)
    return signed.sign({"u": user_id, "k": kind, "c": community_id}, SALT)


def read_token(token: str) -> Scope:
    data = signed.unsign(token, SALT)
    kind, community = data.get("k"), data.get("c")
    if not (isinstance(kind, str) and _KIND.fullmatch(kind)) or not (community is None or isinstance(community, int)):
        raise BadToken("This unsubscribe link is not valid. Check that you copied all of it.")
    return Scope(data["u"], kind, community)


def kind_url(user: User, kind: str, community_id: int | None) -> str:
    """The page (and one-click POST) that turns off ``kind`` emails for ``user``: an absolute URL."""
    token = make_token(user.pk, kind, community_id)
    return settings.SITE_URL + reverse("digests:notification-unsubscribe", kwargs={"token": token})


def kind_headers(user: User, kind: str, community_id: int | None, url: str = "") -> dict[str, str]:
    """List-Unsubscribe (one click turns off ``kind`` only), List-Id and the auto-reply guards.

    ``url``: the ``kind_url`` the email's footer shows, so header and footer carry the same link.
    """
    url = url or kind_url(user, kind, community_id)
    token = url.rstrip("/").rsplit("/", 1)[-1]
    return signed.list_headers(token, url, f"notifications ({kind})", f"{kind.replace('_', '-')}.notifications")
