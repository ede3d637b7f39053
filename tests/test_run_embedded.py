"""`make run` as a terminal runs it, mail links on the port it serves.

Ctrl-C in a terminal sends SIGINT to the whole foreground process group: the
script, runserver and its server process, the Celery worker and its pool
processes, and beat. Each round starts scripts/run-embedded.sh on the
embedded default in a temporary var/ folder, asks the running site for a
password reset, and interrupts the group while the reset mail's task is in
flight: the mail server answers it one byte a second and never a whole line,
QUIT included, as a stalled server may (that QUIT is what held the worker's
cold shutdown; the script says why). Every process must be gone within 10 s,
the task's message must be back in the queue folder, and the next round's
worker must receive it again (acks_late: redelivered on the next start).

The reset is asked for through `localhost:PORT` while the script was told
only PORT: its mail must link to `http://127.0.0.1:PORT/`, the address the
server binds, which the script passes on as SITE_URL."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.faults import free_port
from tests.worker import ROOT, wait_until

pytestmark = pytest.mark.live_worker

ROUNDS = 3
STALLED = "nobody@example.org"  # no account: asking a reset for it mails "Unknown Account", with a sign-up link
STOP_WITHIN = 10  # seconds, from Ctrl-C to the last process gone
# The settings a developer's shell or the test run may hold, which would take
# the script off the embedded default.
FOREIGN_ENV = ("DATABASE_", "REDIS_", "EMAIL_", "CELERY_", "COPSITE_", "SITE_URL", "DJANGO_", "ALLOWED_HOSTS", "DEBUG")


class StallingMailServer:
    """A small SMTP server that takes every message at once, except those to ``STALLED``.

    For those it answers RCPT with one byte a second and never a whole line,
    so the sending task stays in flight until its time limit.
    """

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stalled = 0
        self.stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as lines:
            try:
                conn.sendall(b"220 stalling mail server\r\n")
                for line in lines:
                    command = line.decode(errors="replace").strip().upper()
                    if command.startswith("RCPT") and STALLED.upper() in command:
                        self.stalled += 1
                        while not self.stopped.wait(1):
                            conn.sendall(b"2")
                        return
                    if command == "DATA":
                        conn.sendall(b"354 go on\r\n")
                        for data in lines:
                            if data in (b".\r\n", b".\n"):
                                break
                    if command == "QUIT":
                        conn.sendall(b"221 bye\r\n")
                        return
                    conn.sendall(b"250 ok\r\n")
            except OSError:
                return

    def stop(self) -> None:
        self.stopped.set()
        self.sock.close()


@pytest.fixture(scope="module")
def mail_server() -> Iterator[StallingMailServer]:
    server = StallingMailServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def var_dir(tmp_path_factory, mail_server) -> Path:
    """A var/ folder with a migrated SQLite database, kept across the rounds as a developer's is."""
    var = tmp_path_factory.mktemp("var")
    subprocess.run(
        [".venv/bin/python", "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=script_env(var, port=0, mail_port=mail_server.port),
        check=True,
        timeout=180,
    )
    return var


def script_env(var: Path, *, port: int, mail_port: int) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(FOREIGN_ENV)}
    env.pop("HOST", None)
    env.update(
        COPSITE_VAR_DIR=str(var),
        PORT=str(port),
        EMAIL_URL=f"smtp://127.0.0.1:{mail_port}",
        LOG_JSON="0",
    )
    return env


def as_in_a_terminal() -> None:
    # A terminal's foreground job starts with SIGINT and SIGQUIT at their
    # defaults; pytest may itself have been started with them ignored.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)


def group_processes(pgid: int) -> list[str]:
    """The live processes of process group ``pgid`` (zombies waiting to be reaped are gone)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        state, _ppid, pgrp = text.rsplit(")", 1)[1].split()[:3]
        if int(pgrp) == pgid and state != "Z":
            found.append(f"{stat.parent.name} {cmdline.strip()}")
    return found


class Run:
    """One `make run`: scripts/run-embedded.sh in its own process group, as a terminal's foreground job."""

    def __init__(self, var: Path, env: dict[str, str], name: str) -> None:
        self.log_path = var / f"run-{name}.log"
        self.base = f"http://127.0.0.1:{env['PORT']}"
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                ["bash", "scripts/run-embedded.sh"],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=as_in_a_terminal,
            )
        self.pgid = self.process.pid

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_until_ready(self) -> None:
        def ready() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"run-embedded.sh exited early:\n{self.output()[-4000:]}")
            out = self.output()
            # The worker, the demo logins printed after seeding, the web server.
            return " ready." in out and "amara@example.org" in out and "Starting development server" in out

        wait_until(ready, timeout=120, what="web, worker and beat to start", log=self.output)

    def alive(self) -> list[str]:
        self.process.poll()  # reap the script itself once it has exited
        return group_processes(self.pgid)

    def interrupt(self) -> float:
        """Ctrl-C: SIGINT to the whole group; returns how long until every process was gone (or fails)."""
        started = time.monotonic()
        os.killpg(self.pgid, signal.SIGINT)
        while self.alive() and time.monotonic() - started < STOP_WITHIN:
            time.sleep(0.1)
        took = time.monotonic() - started
        left = self.alive()
        if left:
            os.killpg(self.pgid, signal.SIGKILL)
            self.process.wait(timeout=10)
        assert not left, f"still running {took:.1f} s after Ctrl-C:\n" + "\n".join(left) + "\n" + self.output()[-3000:]
        return took

    def kill(self) -> None:
        if self.alive():
            os.killpg(self.pgid, signal.SIGKILL)
            self.process.wait(timeout=10)


def ask_for_password_reset(base: str, host: str, email: str) -> None:
    with requests.Session() as session:
        session.headers["Host"] = host
        session.get(f"{base}/accounts/password/reset/", timeout=30).raise_for_status()
        response = session.post(
            f"{base}/accounts/password/reset/",
            data={"csrfmiddlewaretoken": session.cookies["csrftoken"], "email": email},
            allow_redirects=False,
            timeout=30,
        )
    assert response.status_code == 302, response.text[-2000:]


def latest_mail_to(var: Path, address: str) -> tuple[int, str]:
    with sqlite3.connect(var / "db.sqlite3") as db:
        return db.execute(
            'SELECT id, body_text FROM copsite_outboundemail WHERE "to" = ? ORDER BY id DESC LIMIT 1', (address,)
        ).fetchone()


def queued_send_email(var: Path, email_id: int) -> list[str]:
    """Ids of the send_email messages for ``email_id`` waiting in the filesystem broker's queue folder."""
    ids = []
    for path in (var / "celery" / "queue").glob("*.msg"):
        headers = json.loads(path.read_text())["headers"]
        if headers.get("task") == "copsite.send_email" and headers.get("argsrepr") == f"({email_id},)":
            ids.append(headers["id"])
    return ids


def test_make_run_on_another_port_mails_links_to_that_port(var_dir, mail_server):
    port = free_port()
    run = Run(var_dir, script_env(var_dir, port=port, mail_port=mail_server.port), "port")
    try:
        run.wait_until_ready()
        ask_for_password_reset(run.base, f"localhost:{port}", "someone@example.org")
        _, body = latest_mail_to(var_dir, "someone@example.org")
        run.interrupt()
    finally:
        run.kill()
    links = re.findall(r"https?://\S+", body)
    assert links, body
    for link in links:
        assert link.startswith(f"http://127.0.0.1:{port}/"), f"the mail links to {link}:\n{body}"
    assert "Hello from copsite!" in body


def interrupted_round(
    var: Path, env: dict[str, str], name: str, mail_server: StallingMailServer, handed_back: str | None
) -> str:
    """Start, put the reset mail's task in flight, Ctrl-C; returns the id of the task handed back to the queue."""
    run = Run(var, env, name)
    try:
        run.wait_until_ready()
        if handed_back:
            # Redelivered on this start: the message the last Ctrl-C handed back.
            wait_until(
                lambda: f"copsite.send_email[{handed_back}] received" in run.output(),
                timeout=30,
                what=f"the worker to receive the handed-back task {handed_back} again",
                log=run.output,
            )
        stalled = mail_server.stalled
        ask_for_password_reset(run.base, run.base.removeprefix("http://"), STALLED)
        email_id, _ = latest_mail_to(var, STALLED)
        wait_until(
            lambda: mail_server.stalled > stalled,
            timeout=30,
            what="the reset mail's task to reach the mail server",
            log=run.output,
        )
        took = run.interrupt()
    finally:
        run.kill()
    print(f"round {name}: every process gone {took:.1f} s after Ctrl-C")
    queued = queued_send_email(var, email_id)
    assert len(queued) == 1, f"the reset mail's task in flight was not handed back once: {queued}\n{run.output()}"
    return queued[0]


def test_ctrl_c_stops_web_worker_and_beat_within_10_s_and_the_task_in_flight_runs_on_the_next_start(
    var_dir, mail_server
):
    env = script_env(var_dir, port=free_port(), mail_port=mail_server.port)
    handed_back = None  # each round's start receives the task the round before handed back
    for round_no in range(1, ROUNDS + 1):
        handed_back = interrupted_round(var_dir, env, str(round_no), mail_server, handed_back)
