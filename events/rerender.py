"""Event descriptions re-rendered by ``manage.py rerender_markup`` (registered in EventsConfig.ready())."""

from __future__ import annotations

from core.rerender import markdown_or_escaped
from events.models import Event


def rerender_descriptions(everything: bool) -> tuple[int, int]:
    done = kept = 0
    for event in Event.objects.only("pk", "description").iterator(chunk_size=500):
        html, rendered = markdown_or_escaped(event.description)
        Event.objects.filter(pk=event.pk).update(description_html=html)
        done, kept = done + 1, kept + (not rendered)
    return done, kept
