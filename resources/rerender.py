"""Resource texts re-rendered by ``manage.py rerender_markup`` (registered in ResourcesConfig.ready())."""

from __future__ import annotations

from core.markup import MarkupError
from core.rerender import Write, in_batches, markdown_or_escaped
from resources.models import Resource
from resources.services import TEXT_FIELDS, index_resource, render_fields


def _render(resource: Resource) -> bool:
    try:
        render_fields(resource)
    except MarkupError:
        # Content that new limits refuse stays readable as escaped text.
        for field in TEXT_FIELDS:
            setattr(resource, f"{field}_html", markdown_or_escaped(getattr(resource, field))[0])
        return False
    return True


def _index(batch: list[Resource]) -> None:
    # The plain text feeds search; one statement per resource, and resources are few.
    for resource in batch:
        index_resource(resource)


def rerender_resources(everything: bool, write: Write) -> tuple[int, int]:
    fields = [*(f"{field}_html" for field in TEXT_FIELDS), "search_text"]
    return in_batches(
        Resource.objects.all(),
        _render,
        fields,
        everything=everything,
        what="resources",
        write=write,
        after_batch=_index,
    )
