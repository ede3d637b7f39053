"""Event descriptions re-rendered by ``manage.py rerender_markup`` (registered in EventsConfig.ready())."""

from __future__ import annotations

from core.rerender import Write, in_batches, markdown_or_escaped
from events.models import Event


def _render(event: Event) -> bool:
    event.description_html, rendered = markdown_or_escaped(event.description)
    return rendered


def rerender_descriptions(everything: bool, write: Write) -> tuple[int, int]:
    events = Event.objects.only("pk", "description", "render_version")
    return in_batches(events, _render, ["description_html"], everything=everything, what="events", write=write)
