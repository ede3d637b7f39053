"""Start, stop and kill a real Celery worker process for a test, wait on it, and read the mail it writes.

The process helpers here (a bounded poll, a stop that cannot hang, a hard
kill of a whole process tree) also serve the other live processes the fault
tests run (tests/faults.py).
"""

from __future__ import annotations

import email
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from email.message import Message
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def database_url_for_tests() -> str:
    """The URL of the test database pytest-django created, for another process."""
    conf = connection.settings_dict
    if conf["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(conf['NAME']).resolve()}"
    user = conf.get("USER") or ""
    password = f":{conf['PASSWORD']}" if conf.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    port = f":{conf['PORT']}" if conf.get("PORT") else ""
    return f"postgres://{auth}{conf.get('HOST') or '127.0.0.1'}{port}/{conf['NAME']}"


def wait_until(predicate: Callable, *, timeout: float = 30, what: str, log: Callable[[], str] = str):
    """Poll ``predicate`` until it returns something truthy, and return that; never a sleep of real minutes.

    After ``timeout`` it fails naming ``what``, with the end of ``log()`` (a process's output) to show why.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{log()[-4000:]}")


def stop_process(process: subprocess.Popen | None, timeout: float = 20, sig: int = signal.SIGTERM) -> None:
    """Ask ``process`` to stop with ``sig``; kill it if it is still there after ``timeout``, so a test never hangs."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (the prefork pool's children), from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


class LiveWorker:
    def __init__(self, mail_dir: Path, extra_env: dict[str, str] | None = None, pool: str = "solo") -> None:
        self.pool = pool
        self.mail_dir = Path(mail_dir)
        self.log_path = self.mail_dir.parent / "worker.log"
        self.extra_env = extra_env or {}
        self.process: subprocess.Popen | None = None

    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "copsite.settings",
            "DATABASE_URL": database_url_for_tests(),
            "CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
            "EMAIL_FILE_PATH": str(self.mail_dir),
            "LOG_JSON": "0",
        }
        env.pop("EMAIL_URL", None)
        env.pop("EMAIL_HOST", None)
        env.update(self.extra_env)
        if not settings.REDIS_URL:
            queue_dir = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]).parent
            env["CELERY_FILESYSTEM_DIR"] = str(queue_dir)
        return env

    def start(self, timeout: float = 30) -> None:
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "copsite",
                "worker",
                "--pool",
                self.pool,
                "--concurrency",
                "1",
                "--queues",
                settings.CELERY_TASK_DEFAULT_QUEUE,
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "INFO",
                "--hostname",
                f"test-{os.getpid()}@%h",
            ],
            cwd=ROOT,
            env=self.env(),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

        def ready() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.output()}")
            return " ready." in self.output()

        wait_until(ready, timeout=timeout, what="the worker to be ready", log=self.output)

    def output(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def stop(self) -> None:
        stop_process(self.process)
        if getattr(self, "log", None):
            self.log.close()

    def wait_for_mail(self, count: int = 1, timeout: float = 30) -> list[Message]:
        """All the mail written so far, once there are at least ``count`` messages."""

        def enough() -> list[Message] | None:
            messages = read_mail(self.mail_dir)
            return messages if len(messages) >= count else None

        return wait_until(enough, timeout=timeout, what=f"{count} email(s) in {self.mail_dir}", log=self.output)


def kill_hard(worker: LiveWorker) -> None:
    """SIGKILL the worker and its pool children together, as a crashed machine or the OOM killer would."""
    tree = process_tree(worker.process.pid)
    for sig in (signal.SIGSTOP, signal.SIGKILL):  # freeze first: no child finishes its work while the others die
        for pid in tree:
            with suppress(ProcessLookupError):
                os.kill(pid, sig)
    worker.process.wait(timeout=10)
    worker.log.close()


def retire(worker: LiveWorker) -> None:
    """Stop a worker the test is done with (settled, so idle): a warm shutdown would only cost 3-5 s."""
    if worker.process and worker.process.poll() is None:
        kill_hard(worker)
    worker.stop()  # closes the log


SEPARATOR = "-" * 79


def read_mail(mail_dir: Path) -> list[Message]:
    """Messages written by Django's file email backend, oldest first."""
    messages = []
    for path in sorted(Path(mail_dir).glob("*.log"), key=lambda p: p.stat().st_mtime):
        for chunk in path.read_bytes().split(b"\n" + SEPARATOR.encode() + b"\n"):
            if chunk.strip():
                messages.append(email.message_from_bytes(chunk.strip(b"\n")))
    return messages


def text_of(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
    raise AssertionError("no text/plain part")
