"""What the header's bell says, read from a page's HTML as a screen reader reads the link: "Notifications, 2 unread"."""

from __future__ import annotations

import html
import re

_BELL_LINK = re.compile(r'<a class="bell-toggle"[^>]*>(.*?)</a>', re.DOTALL)


def bell_text(page: str) -> str:
    """The bell's words on ``page`` ("Notifications" when nothing is unread); "" on a page without one."""
    found = _BELL_LINK.search(page)
    if found is None:
        return ""
    # The words a screen reader says: the hidden label (the visible count is hidden from it).
    label = re.search(r'<span class="visually-hidden">(.*?)</span>', found.group(1))
    return html.unescape(label.group(1)) if label else ""


def unread_on_bell(page: str) -> int:
    """The count the bell shows (0 when it shows none)."""
    found = re.search(r"Notifications, (\d+) unread", bell_text(page))
    return int(found.group(1)) if found else 0
