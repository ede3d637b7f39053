"""Optional spam check of new posts against an Akismet-compatible service.

Off unless ``AKISMET_API_KEY`` is set. ``AKISMET_URL`` points at the service
(default Akismet itself; self-hosted clones speak the same protocol), and
``SITE_URL`` is the "blog" the key was issued for. The call happens before the
post's transaction, so a slow service never holds a database lock; it is
bounded by ``AKISMET_TIMEOUT_SECONDS``. Any failure (network, timeout, an answer
that is neither ``true`` nor ``false``) lets the post through and is logged:
spam filtering is a helper, never a reason to lose a member's words. A "spam"
verdict does not reject the post either: it is held for a facilitator
(``discussions.services.needs_review``), since false positives happen.

Protocol (https://akismet.com/developers/detailed-docs/comment-check/): POST
form-encoded ``{url}comment-check`` with ``api_key``, ``blog``, ``user_ip``,
``user_agent``, ``referrer``, ``comment_type``, ``comment_author``,
``comment_author_email``, ``comment_content``; the body is ``true`` (spam) or
``false`` (ham); ``X-akismet-pro-tip: discard`` marks blatant spam.
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest

from core.ratelimit import client_ip

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verdict:
    spam: bool
    # Akismet's "pro tip": blatant spam that could be dropped unseen. We still hold it for a person to look at.
    discard: bool = False


HAM = Verdict(spam=False)


def enabled() -> bool:
    return bool(settings.AKISMET_API_KEY)


def comment_check(request: HttpRequest, *, content: str, comment_type: str = "forum-post") -> Verdict:
    """Ask the service whether ``content``, sent by this request's person, is spam (HAM when off or failing)."""
    if not enabled():
        return HAM
    user = request.user
    fields = {
        "api_key": settings.AKISMET_API_KEY,
        "blog": settings.SITE_URL,
        "user_ip": client_ip(request),
        "user_agent": request.headers.get("User-Agent", ""),
        "referrer": request.headers.get("Referer", ""),
        "comment_type": comment_type,
        "comment_author": getattr(user, "username", ""),
        "comment_author_email": getattr(user, "email", ""),
        "comment_content": content,
        "blog_charset": "UTF-8",
    }
    call = urllib.request.Request(  # noqa: S310 - settings allow only http(s) URLs
        settings.AKISMET_URL + "comment-check",
        data=urlencode(fields).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "copsite/1 | akismet-check"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(call, timeout=settings.AKISMET_TIMEOUT_SECONDS) as response:  # noqa: S310
            body = response.read(64).decode("ascii", "replace").strip()
            discard = response.headers.get("X-akismet-pro-tip", "").lower() == "discard"
    except (OSError, urllib.error.URLError) as exc:  # refused, timed out, HTTP error status
        log.warning("spam check unavailable, letting the post through: %s", exc)
        return HAM
    if body == "true":
        return Verdict(spam=True, discard=discard)
    if body != "false":
        # e.g. "invalid" (bad key) with an X-akismet-debug-help header: fail open, but say so.
        log.warning("spam check gave an unexpected answer %r, letting the post through", body)
    return HAM


def suspected(request: HttpRequest, content: str) -> bool:
    """True when the service calls ``content`` spam: the caller holds the post for review."""
    return comment_check(request, content=content).spam
