"""Real processes a fault test starts, breaks and mends itself: Redis, PostgreSQL, gunicorn, an SMTP server.

Each helper owns its process, on a free port, in a folder of its own, so a
test can stop a service without touching the machine's shared PostgreSQL
(5432) or Redis (6379) that other runs use. Every wait is a bounded poll
that fails with what it was waiting for (tests/worker.py's wait_until). A
test that kills a worker in the middle of a task holds it there first by
locking the outbox (outbox_held).
"""

from __future__ import annotations

import email
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, datetime
from email.message import Message
from pathlib import Path

import requests
from django.conf import settings
from django.db import connection, transaction

from core.models import Heartbeat, OutboundEmail
from tests.worker import ROOT, stop_process, wait_until


def free_port() -> int:
    """A loopback port nobody listens on: for a server of our own, or as a service that refuses connections."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- Redis ---------------------------------------------------------------------------------------------------------


class RedisServer:
    """A throwaway redis-server without persistence: a restart comes back empty, as an unconfigured one would."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
                "--logfile",
                str(self.workdir / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        wait_until(self.answers, timeout=10, what=f"redis-server on port {self.port}", log=self.output)

    def stop(self) -> None:
        stop_process(self.process)
        wait_until(lambda: not self.answers(), timeout=5, what=f"redis on port {self.port} to go away")

    def answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis.from_url(self.url, socket_timeout=1, socket_connect_timeout=1).ping())
        except redis.RedisError:
            return False

    def output(self) -> str:
        path = self.workdir / "redis.log"
        return path.read_text() if path.exists() else ""


# --- PostgreSQL ----------------------------------------------------------------------------------------------------


def postgres_bin(name: str) -> str:
    """A server binary of the newest PostgreSQL installed the Debian way (initdb and pg_ctl are not on PATH)."""
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3]))
    if found:
        return str(found[-1])
    return shutil.which(name) or name


def postgres_binaries_present() -> bool:
    return all(Path(postgres_bin(name)).exists() for name in ("initdb", "pg_ctl", "pg_dump", "psql"))


class PostgresCluster:
    """A PostgreSQL cluster of our own (trust auth, no fsync) that a test may stop and start at will.

    PostgreSQL refuses to run as root, so as root the cluster belongs to the
    ``postgres`` OS user and every server command runs through ``runuser``.
    """

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="copsite-faults-pg-", dir="/tmp"))  # the postgres user must reach it
        self.data = self.dir / "data"
        self.log_path = self.dir / "server.log"
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.dir, user="postgres")
        self.running = False

    def _server_command(self, *args: str, timeout: float = 60) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        result = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=timeout, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout}{result.stderr}\n{self.output()}")

    def init(self) -> None:
        self._server_command(
            postgres_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg_ctl("-l", str(self.log_path), "-o", options, "start")
        self.running = True

    def stop(self) -> None:
        """Fast shutdown: open sessions are cut off, as in a restart by the operator or a failover."""
        self._pg_ctl("-m", "fast", "stop")
        self.running = False

    def destroy(self) -> None:
        """Stop the server if it runs (immediately, if a fast stop fails) and remove its files, whatever happens."""
        try:
            if self.running:
                try:
                    self.stop()
                except (RuntimeError, subprocess.TimeoutExpired):
                    self._pg_ctl("-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def _pg_ctl(self, *args: str) -> None:
        self._server_command(postgres_bin("pg_ctl"), "-D", str(self.data), "-w", "-t", "30", *args)

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def copy_database(self, source_url: str, name: str) -> str:
        """Create ``name`` here as a copy of ``source_url`` (schema and rows): seconds, where migrating takes ~20."""
        psql = postgres_bin("psql")
        subprocess.run(
            [psql, "-q", "-v", "ON_ERROR_STOP=1", "-d", self.url("postgres"), "-c", f'CREATE DATABASE "{name}"'],
            check=True,
            capture_output=True,
            timeout=30,
        )
        dump = subprocess.Popen([postgres_bin("pg_dump"), "--no-owner", "-d", source_url], stdout=subprocess.PIPE)
        load = subprocess.run(
            [psql, "-q", "-v", "ON_ERROR_STOP=1", "-d", self.url(name)],
            stdin=dump.stdout,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        dump.stdout.close()
        if dump.wait(timeout=30) != 0 or load.returncode != 0:
            raise RuntimeError(f"copying {source_url} failed:\n{load.stderr[-4000:]}")
        return self.url(name)

    def output(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""


# --- The web process (gunicorn, as in production) ------------------------------------------------------------------


def collect_static(static_root: Path) -> None:
    """Production serves hashed file names from a manifest: gunicorn with DEBUG=0 needs collectstatic first."""
    env = production_env(static_root, database_url="", redis_url="")  # nothing to reach: the embedded default
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )


def production_env(static_root: Path, *, database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """DEBUG=0 settings for a web process on loopback over plain HTTP (no TLS here, so no secure-only cookies)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "copsite.settings",
        "DEBUG": "0",
        "SECRET_KEY": "faults-" + "k" * 60,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "STATIC_ROOT": str(static_root),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
        "LOG_JSON": "0",
        # The fault tests post a few replies a second as freshly made accounts.
        "POST_RATE_LIMIT": "100/60",
        "NEW_ACCOUNT_POST_RATE_LIMIT": "100/60",
        **extra,
    }
    for name in ("EMAIL_URL", "EMAIL_HOST"):
        env.pop(name, None)
    return env


PASSWORD = "correct horse battery"  # make_user's default


def production_passwords(*users) -> None:
    """Store the users' passwords as production can check them: the tests hash with MD5, which it does not accept."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    hasher = PBKDF2PasswordHasher()
    for user in users:
        encoded = hasher.encode(PASSWORD, hasher.salt(), iterations=1000)  # few rounds: a test, not a secret
        type(user).objects.filter(pk=user.pk).update(password=encoded)


class WebServer:
    """gunicorn serving copsite with the given environment, two workers, on a free port."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **env,
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "WEB_CONCURRENCY": "2",
            "GUNICORN_TIMEOUT": "20",
            "SITE_URL": self.base,
        }
        self.log_path = Path(log_path)
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            # No control socket: its default path is one per machine, shared with every other gunicorn.
            [
                sys.executable,
                "-m",
                "gunicorn",
                "copsite.wsgi:application",
                "-c",
                "gunicorn.conf.py",
                "--no-control-socket",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

        def up() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.output()}")
            try:
                return requests.get(self.base + "/healthz", timeout=5).status_code in (200, 503)
            except (requests.ConnectionError, requests.Timeout):  # workers still booting
                return False

        wait_until(up, timeout=60, what="gunicorn to answer /healthz", log=self.output)

    def stop(self) -> None:
        stop_process(self.process, sig=signal.SIGQUIT)  # quick shutdown: nothing is in flight when a test ends
        if getattr(self, "log", None):
            self.log.close()

    def output(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def session_for(self, email_address: str, password: str = PASSWORD) -> requests.Session:
        """A logged-in browser-like session (cookies, CSRF token in every form POST); see production_passwords."""
        session = requests.Session()
        session.get(self.base + "/accounts/login/", timeout=10).raise_for_status()
        response = self.post(session, "/accounts/login/", {"login": email_address, "password": password})
        assert response.status_code == 302, f"login as {email_address} failed:\n{response.text[-3000:]}"
        return session

    def post(self, session: requests.Session, path: str, data: dict, timeout: float = 10) -> requests.Response:
        token = session.cookies.get("csrftoken") or ""
        if not token:
            session.get(self.base + path, timeout=timeout)
            token = session.cookies.get("csrftoken", "")
        return session.post(
            self.base + path,
            data={"csrfmiddlewaretoken": token, **data},
            headers={"Referer": self.base + path},
            allow_redirects=False,
            timeout=timeout,
        )


# --- A Celery message to a broker other than the test run's own -------------------------------------------------------


def publish(broker_url: str, task, *args, **kwargs) -> None:
    """Publish ``task`` to the tests' queue on ``broker_url``, as beat would on that deployment."""
    from celery import current_app as app

    with app.connection_for_write(broker_url) as broker:
        task.apply_async(args, kwargs, connection=broker, queue=settings.CELERY_TASK_DEFAULT_QUEUE)


# --- A worker held inside a task, to be killed there --------------------------------------------------------------


@contextmanager
def outbox_held():
    """Block every write the digest build needs, from this test's own connection, until the block exits."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"LOCK TABLE {OutboundEmail._meta.db_table} IN EXCLUSIVE MODE")
        else:  # SQLite: the atomic block began IMMEDIATE; a write makes sure we hold the write lock
            Heartbeat.objects.update_or_create(
                name="test-holds-the-lock", defaults={"at": datetime(2030, 1, 1, tzinfo=UTC)}
            )
        yield


def waiting_backends() -> list[int]:
    """The PostgreSQL backends waiting for a lock on the outbox (see outbox_held): proof a task is stuck mid-run."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_locks WHERE NOT granted AND relation = %s::regclass", [OutboundEmail._meta.db_table]
        )
        return [row[0] for row in cursor.fetchall()]


def wait_for_backends_to_end(pids: list[int]) -> None:
    """A killed client's PostgreSQL backend outlives it until its statement ends, holding its row locks."""

    def gone() -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", [pids])
            return cursor.fetchone()[0] == 0

    if pids:
        wait_until(gone, timeout=15, what=f"backends {pids} of the killed process to end")


# --- SMTP ----------------------------------------------------------------------------------------------------------


class SmtpSink:
    """An SMTP server we control: it delivers (keeps the message) or refuses every message with ``refusal``.

    ``attempts`` holds the monotonic time of every message offered, delivered or not.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"smtp://127.0.0.1:{self.port}?tls=0"
        self.refusal: str | None = None
        self.attempts: list[float] = []
        self.delivered: list[Message] = []
        self._lock = threading.Lock()
        self.controller = None

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd calls it by this name
        with self._lock:
            self.attempts.append(time.monotonic())
            if self.refusal:
                return self.refusal
            self.delivered.append(email.message_from_bytes(envelope.original_content or envelope.content))
        return "250 Message accepted for delivery"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()

    def delivered_to(self, address: str) -> list[Message]:
        with self._lock:
            return [m for m in self.delivered if m["To"] == address]


def drain(broker_url: str | None = None, *, timeout: float = 30, log: Callable[[], str] = str) -> None:
    """Publish a heartbeat behind everything queued so far and wait until the worker has run it.

    ``broker_url`` None means the test run's own broker.
    """
    import uuid

    from core.models import Heartbeat
    from core.tasks import heartbeat

    name = f"tick-{uuid.uuid4().hex[:12]}"
    if broker_url:
        publish(broker_url, heartbeat, name)
    else:
        heartbeat.delay(name)
    wait_until(
        Heartbeat.objects.filter(name=name).exists,
        timeout=timeout,
        what="the worker to reach a heartbeat published after the work",
        log=log,
    )
