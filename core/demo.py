"""Demo data for ``manage.py seed_demo``: each app registers a seeder in its ``AppConfig.ready()``.

Seeders run in the order of ``INSTALLED_APPS`` (accounts first: the people
everyone else's demo data needs), share one dict of what earlier ones made
(``people``: username → User), and return the lines the command prints. Each
is idempotent: a second run changes nothing it already made.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.apps import apps

Seeder = Callable[[dict[str, Any]], list[str]]
_seeders: dict[str, Seeder] = {}


def register(app_label: str, seeder: Seeder) -> None:
    _seeders[app_label] = seeder


def seed_all() -> list[str]:
    made: dict[str, Any] = {}
    lines: list[str] = []
    for config in apps.get_app_configs():
        seeder = _seeders.get(config.label)
        if seeder is not None:
            lines += seeder(made)
    return lines
