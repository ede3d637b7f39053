"""Start and stop a real Celery worker process for a test, and read the mail it writes."""

from __future__ import annotations

import email
import os
import signal
import subprocess
import sys
import time
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
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.output()}")
            if " ready." in self.output():
                return
            time.sleep(0.2)
        raise RuntimeError(f"worker not ready after {timeout}s:\n{self.output()}")

    def output(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if getattr(self, "log", None):
            self.log.close()

    def wait_for_mail(self, count: int = 1, timeout: float = 30) -> list[Message]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            messages = read_mail(self.mail_dir)
            if len(messages) >= count:
                return messages
            time.sleep(0.2)
        raise AssertionError(
            f"expected {count} email(s), found {len(read_mail(self.mail_dir))}; worker log:\n{self.output()}"
        )


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
