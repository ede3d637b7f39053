"""Run Django in this process with a benchmark target's environment (bench/cpu.py, bench/search.py)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def setup(target_path: str, *, page_cache: bool = False, extra_env: dict | None = None) -> dict:
    """Load the target file written by ``manage.py seed_bench``, take its environment and set Django up.

    The whole-page cache is off unless ``page_cache``: what is measured is rendering.
    Returns the target.
    """
    target = json.loads(Path(target_path).read_text())
    os.environ.update(target.get("env") or {})
    os.environ.update(extra_env or {})
    if not page_cache:
        os.environ["PAGE_CACHE_SECONDS"] = "0"
    cwd = target.get("cwd") or str(Path(__file__).resolve().parent.parent)
    os.chdir(cwd)
    sys.path.insert(0, cwd)

    import django

    django.setup()
    return target
