"""Community descriptions re-rendered by ``manage.py rerender_markup`` (registered in CommunitiesConfig.ready())."""

from __future__ import annotations

from communities.models import Community
from core.rerender import Write, in_batches, markdown_or_escaped


def _render(community: Community) -> bool:
    community.description_html, described = markdown_or_escaped(community.description)
    community.welcome_html, welcomed = markdown_or_escaped(community.welcome)
    return described and welcomed


def rerender_descriptions(everything: bool, write: Write) -> tuple[int, int]:
    communities = Community.objects.only("pk", "description", "welcome", "render_version")
    return in_batches(
        communities,
        _render,
        ["description_html", "welcome_html"],
        everything=everything,
        what="communities",
        write=write,
    )
