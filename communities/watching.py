"""The watching control, as the community page and the thread page draw it (templates/includes/watching.html).

A compact menu: the current level on its button, then each level with one
line saying what it does, each a submit button of one plain form (htmx
swaps the control in place when JavaScript is on). What the levels mean and
how a thread's combines with its community's: discussions/models.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.urls import reverse

from communities.models import COMMUNITY_LEVEL_HELP, Membership, WatchLevel


@dataclass
class Control:
    """What the watching control shows: the level, why it is that, and the choices."""

    id: str  # the control's element id (its options' ids start with it)
    action: str  # where its form posts
    title: str  # "Notifications for this thread", the menu's legend
    current: str  # the level in force (a WatchLevel value)
    reason: str = ""  # why, when it was not chosen by hand ("Because you replied in this thread.")
    choices: list[tuple[str, str, str]] = field(default_factory=list)  # (value, label, one line of help)
    back: str = ""  # which page the plain form returns to ("" its own)
    saved: str = ""  # said once the level is changed (the htmx answer)

    @property
    def label(self) -> str:
        return WatchLevel(self.current).label


# Said after a change, per level (the message after a plain form, the status line after htmx).
COMMUNITY_SAVED = {
    WatchLevel.WATCHING: "You're watching {name}: you'll be told about every new post.",
    WatchLevel.WATCHING_FIRST_POST: "You're watching {name} for new threads.",
    WatchLevel.TRACKING: "You're tracking {name}: its threads show unread counts.",
    WatchLevel.NORMAL: "{name} is back to normal: you'll be told of replies to you and mentions.",
    WatchLevel.MUTED: "You muted {name}: its threads leave your other lists and digests.",
}


def community_control(membership: Membership | None, *, saved: bool = False) -> Control | None:
    """The control for a member in good standing (None for anyone else: levels are a member's)."""
    if membership is None or not membership.is_active:
        return None
    community = membership.community
    level = membership.effective_watch_level
    reason = ""
    if not membership.watch_level and level != WatchLevel.NORMAL:
        reason = f"Because you are {'an owner' if membership.is_owner else 'a facilitator'} here."
    return Control(
        id="watch-community",
        action=reverse("communities:watch", kwargs={"slug": community.slug}),
        title=f"Notifications for {community.name}",
        current=level,
        reason=reason,
        choices=[(value, WatchLevel(value).label, text) for value, text in COMMUNITY_LEVEL_HELP.items()],
        saved=COMMUNITY_SAVED[WatchLevel(level)].format(name=community.name) if saved else "",
    )
