"""Re-rendering stored markup after the renderer or its sanitizing policy changed (``manage.py rerender_markup``).

Each app that stores rendered markup registers how to re-render its rows in
its ``AppConfig.ready()``; the command runs them in app order. A re-renderer
takes ``everything`` (False: only rows behind ``RENDER_VERSION``) and a
``write`` for progress lines, and returns (rows re-rendered, rows kept as
escaped text).

Rows go in batches of ``BATCH`` by primary key, each batch locked, rendered,
saved with its ``render_version`` and committed on its own: an interrupted
run leaves finished batches finished, and the next run (without ``--all``)
starts where it stopped. An edit waits for the batch holding its row, so a
re-render never overwrites a newer text. Batches stay modest because
``bulk_update`` writes one ``CASE`` per field whose cost grows faster than
the batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.apps import apps
from django.db import models, transaction
from django.utils.html import escape, linebreaks

from core.markup import RENDER_VERSION, MarkupError, render_markdown

BATCH = 500

Write = Callable[[str], None]
Rerenderer = Callable[[bool, Write], tuple[int, int]]
_rerenderers: dict[str, tuple[str, Rerenderer]] = {}

M = TypeVar("M", bound=models.Model)


def register(app_label: str, what: str, rerenderer: Rerenderer) -> None:
    _rerenderers[app_label] = (what, rerenderer)


def registered() -> list[tuple[str, Rerenderer]]:
    return [_rerenderers[c.label] for c in apps.get_app_configs() if c.label in _rerenderers]


def markdown_or_escaped(source: str) -> tuple[str, bool]:
    """(HTML, rendered?): content that new limits refuse stays readable as escaped text."""
    try:
        return render_markdown(source), True
    except MarkupError:
        return linebreaks(escape(source)), False


def in_batches(
    rows: models.QuerySet[M],
    render_row: Callable[[M], bool],
    fields: Sequence[str],
    *,
    everything: bool,
    what: str,
    write: Write,
    after_batch: Callable[[list[M]], Any] | None = None,
) -> tuple[int, int]:
    """Re-render ``rows`` batch by batch; ``render_row`` sets the HTML fields and says whether it rendered.

    Returns (rows done, rows kept as escaped text). ``fields`` are saved with
    ``render_version``; ``after_batch`` runs inside each batch's transaction.
    """
    if not everything:
        rows = rows.filter(render_version__lt=RENDER_VERSION)
    total = rows.count()
    done = kept = 0
    last_pk: Any = None
    started = time.monotonic()
    while True:
        with transaction.atomic():
            page = rows if last_pk is None else rows.filter(pk__gt=last_pk)
            batch = list(page.order_by("pk").select_for_update(of=("self",))[:BATCH])
            if not batch:
                break
            for row in batch:
                kept += not render_row(row)
                row.render_version = RENDER_VERSION  # type: ignore[attr-defined]  # every re-rendered model has one
            rows.model._default_manager.bulk_update(batch, [*fields, "render_version"])
            if after_batch is not None:
                after_batch(batch)
        last_pk = batch[-1].pk
        done += len(batch)
        elapsed = max(time.monotonic() - started, 1e-6)
        write(f"  {what}: {done:,}/{total:,} ({done / elapsed:,.0f}/s)")
    return done, kept
