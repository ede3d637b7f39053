"""Digest list entries rendered once per item and build, then stitched into every digest that carries them.

The same thread, question or resource appears in hundreds of digests of a
chunk. Rendering each entry with the full templates for every person (text
and HTML) was most of the building time at 10,000 members, so each kind of
entry is a ``{% block %}`` of ``digests/email/_items.{html,txt}``, rendered
here once per item (and per time zone for events, per "newly pinned" for
resources), and ``_section.{html,txt}`` only joins the strings.
"""

from __future__ import annotations

from django.template import Context
from django.template.loader import get_template
from django.template.loader_tags import BlockNode
from django.utils.safestring import mark_safe

from digests.content import Section

# The Section lists that hold items, in the names the item templates' blocks use.
KINDS = ("for_you", "questions", "threads", "stories", "replies", "chats", "events", "resources")
# Plain text is not HTML: its entries are rendered without autoescaping, as the full template did.
FORMATS = {"html": ("digests/email/_items.html", True), "text": ("digests/email/_items.txt", False)}


class Entries:
    """Renders and remembers list entries for one build (one ``site_url``); attach them to sections."""

    def __init__(self, site_url: str):
        self.site_url = site_url
        self.templates = {fmt: get_template(name).template for fmt, (name, _escape) in FORMATS.items()}
        self.blocks = {
            fmt: {node.name: node.nodelist for node in template.nodelist.get_nodes_by_type(BlockNode)}
            for fmt, template in self.templates.items()
        }
        self.rendered: dict[tuple, str] = {}

    def attach(self, section: Section, person=None) -> Section:
        """Set ``section.html`` and ``section.text``: each kind's entries joined, as _section.* include them."""
        for fmt in FORMATS:
            setattr(section, fmt, {kind: self.joined(fmt, kind, section, person) for kind in KINDS})
        return section

    def joined(self, fmt: str, kind: str, section: Section, person) -> str:
        entries = "".join(self.entry(fmt, kind, item, section, person) for item in getattr(section, kind))
        # Each entry came out of the template engine already escaped (HTML): joined, they stay safe.
        return mark_safe(entries)  # noqa: S308

    def entry(self, fmt: str, kind: str, item, section: Section, person) -> str:
        newly_pinned = kind == "resources" and item.pk in section.newly_pinned
        # Only an event's entry depends on the reader (their time zone); every other entry is the same for all.
        time_zone = person.time_zone if kind == "events" and person is not None else None
        key = (fmt, kind, item.pk, newly_pinned, time_zone)
        text = self.rendered.get(key)
        if text is None:
            text = self.rendered[key] = self._render(fmt, kind, item, newly_pinned, person)
        return text

    def _render(self, fmt: str, kind: str, item, newly_pinned: bool, person) -> str:
        values = {"item": item, "site_url": self.site_url, "newly_pinned": newly_pinned}
        if person is not None:
            values["person"] = person
        context = Context(values, autoescape=FORMATS[fmt][1])
        with context.render_context.push_state(self.templates[fmt]), context.bind_template(self.templates[fmt]):
            return self.blocks[fmt][kind].render(context)
