"""Digest list entries rendered once per item and build, then stitched into every digest that carries them.

The same thread, question or resource appears in hundreds of digests of a
chunk. Rendering each entry for every person (text and HTML) was most of the
building time at 10,000 members, so each kind of entry has its own small
template, ``digests/email/items/<kind>.{html,txt}``, rendered here once per
item (and per time zone for events, per "newly pinned" for resources);
``_section.{html,txt}`` only joins the strings.
"""

from __future__ import annotations

import re
from typing import cast

from django.template import engines
from django.template.backends.jinja2 import Jinja2
from markupsafe import Markup

from digests import content
from digests.content import Section

# The Section lists that hold items; each names its item templates.
KINDS = (
    "for_you",
    "questions",
    "threads",
    "stories",
    "firsts",
    "value_stories",
    "replies",
    "chats",
    "events",
    "resources",
)
# Which of the pool's notes (excerpts, answers, "in practice") an entry of each kind shows.
NOTE_KINDS = {"questions": "thread", "threads": "thread", "stories": "thread", "resources": "resource"}
# The HTML entries are autoescaped, the plain-text ones not (core/jinja.py: by the file's extension).
FORMATS = {"html": "html", "text": "txt"}
# Where an entry that invites an answer takes the reader's own reply address (replies/tokens.py):
# entries are rendered once for everyone, the address is put in per reader when they are joined.
REPLY_MARKERS = {
    "html": re.compile(r"<!--copsite-reply:(\d+)-->"),
    "text": re.compile(r"\[\[copsite-reply:(\d+)\]\]\n?"),
}


class Entries:
    """Renders and remembers list entries for one build (one ``site_url``); attach them to sections."""

    def __init__(self, site_url: str):
        self.site_url = site_url
        env = cast(Jinja2, engines["jinja2"]).env
        self.templates = {
            (fmt, kind): env.get_template(f"digests/email/items/{kind}.{ext}")
            for fmt, ext in FORMATS.items()
            for kind in KINDS
        }
        self.rendered: dict[tuple, str] = {}
        styles = env.get_template("digests/email/_styles.html").module
        self.reply_html = (
            f'<p style="{styles.small}"><a href="mailto:{{address}}" style="{styles.link}">Reply by email</a>'
            " (your answer is posted under your name)</p>"
        )

    def attach(self, section: Section, person=None) -> Section:
        """Set ``section.html`` and ``section.text``: each kind's entries joined, as _section.* include them."""
        for fmt in FORMATS:
            setattr(section, fmt, {kind: self.joined(fmt, kind, section, person) for kind in KINDS})
        return section

    def joined(self, fmt: str, kind: str, section: Section, person) -> str:
        entries = "".join(self.entry(fmt, kind, item, section, person) for item in getattr(section, kind))
        entries = REPLY_MARKERS[fmt].sub(lambda m: self.reply_line(fmt, section, int(m.group(1))), entries)
        # Each HTML entry came out of its template already escaped: joined, they stay safe.
        return Markup(entries) if fmt == "html" else entries  # noqa: S704

    def reply_line(self, fmt: str, section: Section, thread_id: int) -> str:
        address = section.reply_addresses.get(thread_id)
        if not address:
            return ""
        # The address is made of [a-z2-7+-.@] and the site's domain: nothing to escape.
        return self.reply_html.format(address=address) if fmt == "html" else f"  Reply by email: {address}\n"

    def entry(self, fmt: str, kind: str, item, section: Section, person) -> str:
        newly_pinned = kind == "resources" and item.pk in section.newly_pinned
        # Only an event's entry depends on the reader (their time zone); every other entry is the same for all.
        time_zone = person.time_zone if kind == "events" and person is not None else None
        key = (fmt, kind, item.pk, newly_pinned, time_zone)
        text = self.rendered.get(key)
        if text is None:
            note = section.note(NOTE_KINDS[kind], item.pk) if kind in NOTE_KINDS else content.NO_NOTE
            values = {
                "item": item,
                "note": note,
                "site_url": self.site_url,
                "newly_pinned": newly_pinned,
                "person": person,
            }
            text = self.rendered[key] = self.templates[fmt, kind].render(values)
        return text
