"""Re-rendering stored markup after the renderer or its sanitizing policy changed (``manage.py rerender_markup``).

Each app that stores rendered markup registers how to re-render its rows in
its ``AppConfig.ready()``; the command runs them in app order. A re-renderer
takes ``everything`` (False: only rows behind ``RENDER_VERSION`` where the
app tracks it) and returns (rows re-rendered, rows kept as escaped text).
"""

from __future__ import annotations

from collections.abc import Callable

from django.apps import apps
from django.utils.html import escape, linebreaks

from core.markup import MarkupError, render_markdown

Rerenderer = Callable[[bool], tuple[int, int]]
_rerenderers: dict[str, tuple[str, Rerenderer]] = {}


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
