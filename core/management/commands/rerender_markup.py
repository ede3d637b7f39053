"""Re-render stored markdown after the renderer or its sanitizing policy changed (apps register: core.rerender)."""

from __future__ import annotations

import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from core import pagecache, rerender


class Command(BaseCommand):
    help = (
        "Re-render stored markdown behind the current renderer (or all of it with --all): posts, descriptions… "
        "Works in committed batches, so an interrupted run can simply be started again."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--all", action="store_true", help="Re-render every row, not only outdated ones.")

    def handle(self, *args: Any, **options: Any) -> None:
        done = []
        started = time.monotonic()
        for what, rerenderer in rerender.registered():
            count, kept = rerenderer(options["all"], self.stdout.write)
            done.append(f"{count} {what}" + (f" ({kept} kept as plain text)" if kept else ""))
        pagecache.touched_everything()
        self.stdout.write("Re-rendered " + ", ".join(done) + f" in {time.monotonic() - started:.1f} s.")
