"""How notifications read in the bell's dropdown, on the list page and in emails: one row per thread.

Several notifications about one thread collapse into one row ("Priya Nair and
2 others replied in “Night rounds”"): replies, mentions and posts in a watched
thread together (``models.CONVERSATION_KINDS``), every other kind with its own
kind. Notifications about an event or a community group the same way. A row
opens the first thing in it not yet read (or its newest), and opening it reads
the whole row (``services.open_notification``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.urls import reverse

from notifications.models import CONVERSATION_KINDS, Notification, kinds_read_together

Kind = Notification.Kind


@dataclass
class Row:
    """One line: who did what, on what, where, when; and the notification it opens."""

    items: list[Notification] = field(default_factory=list)  # newest first
    who: str = ""  # "Priya Nair", "Priya Nair and Tomás Ruiz", "Priya Nair and 2 others", or nothing
    says: str = ""  # the verb phrase: "replied to you in", "asked to join", "Starting soon:"
    what: str = ""  # the thread's or event's title, or the community's name
    quoted: bool = True  # titles are quoted; a community's name is not
    where: str = ""  # the community, when ``what`` is not it

    @property
    def newest(self) -> Notification:
        return self.items[0]

    @property
    def at(self) -> datetime:
        return self.newest.created_at

    @property
    def unread(self) -> int:
        return sum(1 for n in self.items if n.read_at is None)

    @property
    def opens(self) -> Notification:
        """The oldest unread notification (where the news starts), or the newest if all are read."""
        unread = [n for n in self.items if n.read_at is None]
        return unread[-1] if unread else self.newest

    @property
    def sentence(self) -> str:
        """The row as one line of plain text (email subjects and text parts)."""
        what = f"“{self.what}”" if self.quoted else self.what
        return " ".join(part for part in (self.who, self.says, what) if part)


def _key(note: Notification) -> tuple[str, int, tuple[str, ...]]:
    kinds = kinds_read_together(note.kind)
    if note.post is not None:
        return ("thread", note.post.thread_id, kinds)
    if note.event_id is not None:
        return ("event", note.event_id, kinds)
    return ("community", note.community_id or 0, kinds)


def _names(items: list[Notification], *, at_least: int = 0) -> str:
    """Distinct actors, newest first: "A", "A and B", "A and 2 others" (``at_least`` people in all, if more)."""
    names: list[str] = []
    for note in items:
        name = note.actor.name if note.actor is not None else "Someone"
        if name not in names:
            names.append(name)
    count = max(len(names), at_least)
    if count <= 1:
        return names[0]
    if count == 2 and len(names) == 2:
        return f"{names[0]} and {names[1]}"
    others = count - 1
    return f"{names[0]} and {others} other{'s' if others > 1 else ''}"


def _posts(items: list[Notification]) -> int:
    return len({n.post_id for n in items})


def _describe(row: Row) -> None:
    items = row.items
    note = row.newest
    kind = note.kind
    kinds = frozenset(str(n.kind) for n in items)
    post, event, community = note.post, note.event, note.community
    if post is not None:
        thread = post.thread
        row.what, row.where = thread.title, thread.community.name
        several = _posts(items) > 1
        if kind in CONVERSATION_KINDS:
            row.who = _names(items)
            row.says = {
                frozenset({str(Kind.REPLY)}): "replied to you in",
                frozenset({str(Kind.MENTION)}): "mentioned you in",
                frozenset({str(Kind.WATCHING)}): "posted in",  # a thread they watch
            }.get(kinds, "replied in")
        elif kind == Kind.HELPFUL:
            # One row per post, naming the latest person: the post's own count says how many in all.
            row.who = _names(items, at_least=0 if several else post.helpful_count)
            row.says = f"found your post{'s' if several else ''} helpful in"
        elif kind == Kind.ACCEPTED:
            row.who, row.says = _names(items), "accepted your answer in"
        elif kind == Kind.HIDDEN:
            row.who = _names(items)
            row.says = f"hid {_posts(items)} of your posts in" if several else "hid your post in"
        elif kind == Kind.NEW_THREAD:
            row.who, row.says = _names(items), "started"
        elif kind == Kind.FLAGGED:
            row.who = _names(items)
            row.says = f"flagged {_posts(items)} posts in" if several else "flagged a post in"
        elif kind == Kind.HELD:
            row.who = _names(items)
            row.says = "wrote posts held for review in" if several else "wrote a post held for review in"
        elif kind == Kind.UNANSWERED:
            # A newcomer's question a day old with no answer (notifications/alerts.py).
            row.who = _names(items)
            row.says = "has waited a day for an answer to" if not several else "have waited a day for answers in"
        elif kind == Kind.PRACTICE_ASK:
            # Nobody did anything: the loop asks how the thing they said they'd try went.
            row.says = "Did you try it? What happened? You said you'd try something from"
        elif kind == Kind.BUDDY_POST:
            # The newcomer a facilitator paired this member with posted for the first time.
            row.who, row.says = _names(items), "(your buddy's newcomer) wrote a first post in"
        elif kind == Kind.REMINDER:
            # Set by the person on a bookmark (bookmarks.services): nobody else did anything.
            row.says = "Reminder you set:"
        else:  # a kind added later: its label is its verb
            row.who = _names(items) if note.actor_id else ""
            label = note.get_kind_display()
            row.says = f"{label} in" if row.who else f"{label[:1].upper()}{label[1:]}:"
    elif event is not None:
        row.what, row.where = event.title, event.community.name
        row.says = "Starting soon:"
    elif community is not None and kind == Kind.FIRST_CONTRIBUTION:
        row.says, row.what, row.quoted = "Your first contribution to", community.name, False
        row.where = "Thank you, and welcome in!"
    elif community is not None and kind == Kind.BUDDY_PAIRED:
        row.who, row.says, row.what, row.quoted = _names(items), "is your buddy in", community.name, False
    elif community is not None and kind == Kind.BUDDY_ASSIGNED:
        row.who, row.what, row.quoted = _names(items), community.name, False
        row.says = "is new: you're their buddy in"
    elif community is not None:
        row.who, row.says, row.what, row.quoted = _names(items), "asked to join", community.name, False


def rows(notes: list[Notification], limit: int | None = None) -> list[Row]:
    """Group ``notes`` (newest first, targets loaded) into rows, newest row first; at most ``limit`` rows."""
    grouped: dict[tuple[str, int, tuple[str, ...]], Row] = {}
    for note in notes:
        key = _key(note)
        if key not in grouped:
            if limit is not None and len(grouped) == limit:
                continue
            grouped[key] = Row()
        grouped[key].items.append(note)
    for row in grouped.values():
        _describe(row)
    return list(grouped.values())


def target_url(note: Notification) -> str:
    """Where a notification leads (a path): the post's permalink (right page, right anchor), the event, the queue."""
    if note.kind == Kind.PRACTICE_ASK and note.post is not None:
        # The report-back form of the resource this discussion is about (practice/urls.py).
        return reverse("practice:ask", kwargs={"thread_id": note.post.thread_id})
    if note.post_id is not None:
        return reverse("discussions:post", kwargs={"pk": note.post_id})
    if note.event is not None:
        return note.event.get_absolute_url()
    if note.community is not None and note.kind in (Kind.FIRST_CONTRIBUTION, Kind.BUDDY_PAIRED, Kind.BUDDY_ASSIGNED):
        return note.community.get_absolute_url()
    if note.community is not None:
        return reverse("communities:facilitate", kwargs={"slug": note.community.slug}) + "#requests-heading"
    raise ValueError(f"Notification {note.pk} has no target.")
