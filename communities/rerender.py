"""Community descriptions re-rendered by ``manage.py rerender_markup`` (registered in CommunitiesConfig.ready())."""

from __future__ import annotations

from communities.models import Community
from core.rerender import markdown_or_escaped


def rerender_descriptions(everything: bool) -> tuple[int, int]:
    done = kept = 0
    for community in Community.objects.only("pk", "description"):
        html, rendered = markdown_or_escaped(community.description)
        Community.objects.filter(pk=community.pk).update(description_html=html)
        done, kept = done + 1, kept + (not rendered)
    return done, kept
