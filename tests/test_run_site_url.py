"""`make run` tells every process it starts where the site lives: SITE_URL from HOST and PORT unless set.

`PORT=8100 make run` mailed links to :8000, settings' default, because nothing
told the web server, the worker and beat (the worker renders the mails) the
address the server binds. The script runs here with a stand-in for
``.venv/bin/python`` that writes down what each process was started with and
exits, so the whole script takes as long as its one `sleep` (tests/
test_run_embedded.py runs it for real, mail included).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STAND_IN = """#!/bin/sh
printf '%s\\t%s\\n' "$SITE_URL" "$*" >> "$(dirname "$0")/../../started.txt"
"""


def run_script(tmp_path: Path, **env: str) -> dict[str, str]:
    """Run scripts/run-embedded.sh with only ``env`` set; the SITE_URL each process got, by what it is."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "run-embedded.sh", tmp_path / "scripts" / "run-embedded.sh")
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(STAND_IN)
    python.chmod(0o755)
    result = subprocess.run(
        ["bash", str(tmp_path / "scripts" / "run-embedded.sh")],
        env={"PATH": "/usr/bin:/bin", **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    started = {}
    for line in (tmp_path / "started.txt").read_text().splitlines():
        site_url, args = line.split("\t")
        what = "web " + args.split()[-1] if "runserver" in args else args.split()[4] if "celery" in args else args
        started[what] = site_url
    return started


@pytest.mark.parametrize(
    ("env", "address", "site_url"),
    [
        ({}, "127.0.0.1:8000", "http://127.0.0.1:8000"),
        ({"PORT": "8100"}, "127.0.0.1:8100", "http://127.0.0.1:8100"),
        ({"HOST": "localhost", "PORT": "8100"}, "localhost:8100", "http://localhost:8100"),
        ({"HOST": "::1", "PORT": "8100"}, "[::1]:8100", "http://[::1]:8100"),
        # Set, it wins: binding 0.0.0.0 behind a name, say.
        ({"HOST": "0.0.0.0", "PORT": "8100", "SITE_URL": "https://forum.example.org"}, "0.0.0.0:8100", None),  # noqa: S104 - not bound: the address the script would pass on
    ],
    ids=["defaults", "port", "host-and-port", "ipv6", "site-url-set"],
)
def test_every_process_gets_site_url_from_host_and_port_unless_it_is_set(tmp_path, env, address, site_url):
    started = run_script(tmp_path, **env)
    expected = site_url or env["SITE_URL"]
    assert started == {
        f"web {address}": expected,
        "worker": expected,
        "beat": expected,
        "manage.py seed_demo": expected,
    }
