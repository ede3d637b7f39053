"""Running one test file again on the embedded default (SQLite) from a PostgreSQL run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def assert_passes_on_sqlite(test_file: str, *, timeout: int = 900) -> None:
    """``test_file`` (a ``__file__``) passes in a fresh pytest without DATABASE_URL: on SQLite under var/."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REQUIRE_SERVICES")}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", str(Path(test_file).resolve().relative_to(ROOT))],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "failed" not in run.stdout
