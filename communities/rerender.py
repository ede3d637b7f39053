"""Community descriptions re-rendered by ``manage.py rerender_markup`` (registered in CommunitiesConfig.ready())."""

from __future__ import annotations

from communities.models import Community
from core.rerender import Write, in_batches, markdown_or_escaped


def _render(community: Community) -> bool:
    community.description_html, rendered = markdown_or_escaped(community.description)
    return rendered


def rerender_descriptions(everything: bool, write: Write) -> tuple[int, int]:
    communities = Community.objects.only("pk", "description", "render_version")
    return in_batches(
        communities, _render, ["description_html"], everything=everything, what="communities", write=write
    )
