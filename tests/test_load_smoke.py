"""The load test in small (bench/load.py): members reply, react and read; nothing is lost or sent twice.

Runs the real script against gunicorn, a Celery worker and beat on the real
PostgreSQL and Redis (its own database ``copsite_load`` and Redis database 8),
so the script that ``make load`` runs can't rot. About 30-40 s on a quiet machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.services, pytest.mark.live_worker]

# 6 members logging in within a second, 10 s of load on 3 threads; a smaller stack than make load's.
SMALL_RUN = ["--members", "6", "--duration", "10", "--ramp", "1", "--threads", "3"]
SMALL_RUN += ["--web-workers", "2", "--celery-concurrency", "1"]


def server_of(url: str) -> str:
    """postgres://user@host:5432/name -> postgres://user@host:5432 (the script picks the database)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@pytest.mark.timeout(240)
def test_members_under_load_lose_nothing_and_get_each_email_once(tmp_path):
    result_file = tmp_path / "load.json"
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "load.py"),
            *SMALL_RUN,
            *("--db", "copsite_load", "--redis-db", "8", "--port", "0"),
            *("--pg", server_of(os.environ["DATABASE_URL"]), "--redis", server_of(os.environ["REDIS_URL"])),
            *("--report", str(tmp_path / "load.md"), "--json", str(result_file)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=230,
    )
    assert result_file.exists(), f"the load script stopped early:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    result = json.loads(result_file.read_text())
    failed = [f"{c['name']}: {c['detail']}" for c in result["checks"] if not c["ok"]]
    assert not failed, "\n".join(failed) + "\n" + run.stdout[-3000:]
    assert run.returncode == 0, run.stdout[-3000:]

    figures = result["figures"]
    # The checks only mean something if the members really did things.
    assert figures["requests"] >= 30
    assert figures["replies_acknowledged"] >= 5
    assert figures["notifications_emailed"] >= 1
    assert figures["smtp_messages"] == figures["emails_sent"] >= 1
    assert figures["errors_5xx"] == figures["no_answer"] == 0
    assert figures["lost_replies"] == figures["duplicate_replies"] == figures["duplicate_message_ids"] == 0
    assert {row["kind"] for row in result["rows"]} >= {"read_thread", "reply", "helpful", "notifications", "all"}
