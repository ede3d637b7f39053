#!/usr/bin/env python3
# ruff: noqa: S603, S607, S311 - runs its own stack from fixed argument lists; random only picks actions
"""Load without loss: members reply, react and read against the production stack, then nothing may be missing.

    .venv/bin/python bench/load.py                       (or: make load)
    .venv/bin/python bench/load.py --members 6 --duration 10 --ramp 1 --report /tmp/r.md   (about the smoke test)

What it does, in order:

1. PostgreSQL and Redis on 127.0.0.1 (started like .ci/run does if they don't answer);
   a fresh database (``--db``, default ``load_copsite``, dropped and created) and an
   emptied Redis database (``--redis-db``, default 7) used as cache and broker;
2. ``collectstatic``; the database is a copy of a template migrated once per change
   of the migrations (``<db>_migrated_<hash>``); then a seed written through the apps' services:
   one public community, ``--members`` members (verified emails, the default
   notification choices: replies and mentions emailed at once) and ``--threads``
   threads with a few replies each;
3. an SMTP sink in this process (aiosmtpd) that records every message;
   gunicorn with the project's ``gunicorn.conf.py`` (DEBUG=0), a Celery
   worker and Celery beat, all reading the same environment;
4. each member logs in through the real login form (CSRF) from its own
   loopback address (127.0.0.10, .11, …; allauth limits logins per IP), the
   logins spread over ``--ramp`` seconds; when all are in, each member
   loops for ``--duration`` seconds: read a thread (sometimes its last page),
   reply (the page's plain form, or the inline htmx form under a post, with
   the CSRF token and submission key a browser sends; some with an @mention),
   toggle "helpful" on someone else's post (htmx), read the notifications.
   Every reply carries a unique marker; the ones the app acknowledged (302 to
   the post, or the htmx fragment showing it) are recorded. A reply that
   times out is sent again with the same submission key, as a browser retry;
5. after the run: the notification email sweep is published until every
   notification is handled and the outbox is empty (bounded by ``--drain``);
6. checks, each printed PASS/FAIL: no 5xx or transport error; every
   acknowledged reply in the database exactly once (by marker) under the
   intended parent; no reply the client was told failed; thread and post
   counters equal the rows; each member's helpful state as the last response
   said; each reply notified exactly the people it should; every email sent
   once (sink count = sent rows, no duplicate Message-ID, nothing pending or
   failed); every notification emailed at most once, and the emailed ones in
   exactly one message to their person.

The report (requests by kind, throughput, p50/p90/p99/max latency, the
checks, the machine's load average before and after) goes to ``--report``
(default ``bench/last-load-report.md``); ``--json`` writes the numbers for
tests. The exit status is 1 when any check fails. Posting limits are raised
through ``POST_RATE_LIMIT``/``NEW_ACCOUNT_POST_RATE_LIMIT`` (``--post-limit``):
the test is about loss, not about the limiter.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import hashlib
import json
import math
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "load-test-password-1"  # noqa: S105 - throwaway accounts in a throwaway database
MARKER = re.compile(r"LOAD-[0-9a-f]{16}")
LOGIN_KINDS = {"login_form", "login"}  # before the clock starts: not in the load figures
# Variables of the caller's environment that would point the stack elsewhere.
DROPPED_ENV = (
    "DJANGO_SETTINGS_MODULE",
    "EMAIL_HOST",
    "EMAIL_PORT",
    "EMAIL_FILE_PATH",
    "CELERY_FILESYSTEM_DIR",
    "PAGE_CACHE_SECONDS",
    "POSTS_PER_PAGE",
)


# --- configuration --------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--members", type=int, default=50)
    p.add_argument("--duration", type=float, default=120.0, help="seconds of load")
    p.add_argument(
        "--threads", type=int, default=3, help="threads seeded (replies go to these; few: long threads, contention)"
    )
    p.add_argument("--ramp", type=float, default=10.0, help="seconds over which the members' logins are spread")
    p.add_argument("--think", type=float, default=0.5, help="mean pause between a member's actions, seconds")
    p.add_argument("--db", default="load_copsite")
    p.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="server URL, without database name")
    p.add_argument("--redis", default="redis://127.0.0.1:6379", help="server URL, without database number")
    p.add_argument("--redis-db", type=int, default=7)
    p.add_argument("--port", type=int, default=8107, help="gunicorn's port; 0: any free one")
    p.add_argument("--web-workers", type=int, default=3, help="gunicorn workers (WEB_CONCURRENCY)")
    p.add_argument("--celery-concurrency", type=int, default=2)
    p.add_argument("--post-limit", default="100000/60,1000000/3600", help="POST_RATE_LIMIT for the run")
    p.add_argument("--drain", type=float, default=180.0, help="seconds allowed for email to drain")
    p.add_argument(
        "--timeout", type=float, default=60.0, help="client timeout per request (a browser waits longer than gunicorn)"
    )
    p.add_argument("--seed", type=int, default=8, help="random seed of the members' choices")
    p.add_argument("--report", type=Path, default=ROOT / "bench" / "last-load-report.md")
    p.add_argument("--json", type=Path, default=None, help="also write the figures as JSON here")
    p.add_argument("--keep", action="store_true", help="print the run folder and keep its logs")
    return p.parse_args(argv)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stack_env(args: argparse.Namespace, run_dir: Path, smtp_port: int) -> dict[str, str]:
    """One environment for gunicorn, the worker, beat and this process: production settings on loopback."""
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
    env.update(
        DJANGO_SETTINGS_MODULE="copsite.settings",
        DATABASE_URL=f"{args.pg}/{args.db}",
        REDIS_URL=f"{args.redis}/{args.redis_db}",
        CELERY_QUEUE="load",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SITE_URL=f"http://127.0.0.1:{args.port}",
        # Plain HTTP on loopback: no TLS redirect, no secure-only cookies, no HSTS.
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        SECURE_HSTS_SECONDS="0",
        EMAIL_URL=f"smtp://127.0.0.1:{smtp_port}",
        EMAIL_RETRY_BASE_SECONDS="2",
        POST_RATE_LIMIT=args.post_limit,
        NEW_ACCOUNT_POST_RATE_LIMIT=args.post_limit,
        GUNICORN_BIND=f"127.0.0.1:{args.port}",
        WEB_CONCURRENCY=str(args.web_workers),
        STATIC_ROOT=str(run_dir / "static"),
        COPSITE_VAR_DIR=str(run_dir / "var"),
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


# --- services, database, stack ----------------------------------------------------------------


def answers(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def ensure_services(args: argparse.Namespace) -> None:
    """Start a local PostgreSQL/Redis the way .ci/run does when one doesn't answer (a fresh machine)."""
    if not answers(args.pg, 5432) and Path("/etc/postgresql").is_dir():
        version = sorted(os.listdir("/etc/postgresql"))[0]
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"], check=False)
    if not answers(args.redis, 6379) and shutil.which("redis-server"):
        subprocess.run(
            ["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            check=False,
        )
    deadline = time.monotonic() + 30
    while not (answers(args.pg, 5432) and answers(args.redis, 6379)):
        if time.monotonic() > deadline:
            sys.exit(f"load: PostgreSQL ({args.pg}) or Redis ({args.redis}) does not answer")
        time.sleep(1)


def admin_cursor(args: argparse.Namespace):
    import psycopg2

    conn = psycopg2.connect(f"{args.pg}/postgres")
    conn.autocommit = True
    return conn, conn.cursor()


def migrated_template(args: argparse.Namespace, env: dict[str, str]) -> str:
    """A database migrated once per change of the migrations (or pinned packages); each run copies it.

    Copying a template takes a second; a migrate takes most of a short run's setup.
    """
    digest = hashlib.sha256()
    for path in [*sorted(ROOT.glob("*/migrations/*.py")), ROOT / "requirements.txt"]:
        digest.update(path.read_bytes())
    template = f"{args.db}_migrated_{digest.hexdigest()[:12]}"
    conn, cur = admin_cursor(args)
    cur.execute("SELECT datname FROM pg_database")
    older = [name for (name,) in cur.fetchall() if name.startswith(f"{args.db}_migrated_")]
    if template in older:
        conn.close()
        return template
    for name in older:
        cur.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    cur.execute(f'CREATE DATABASE "{template}"')
    migrate = manage({**env, "DATABASE_URL": f"{args.pg}/{template}"}, "migrate", "--noinput", "-v0")
    if migrate.wait() != 0:
        cur.execute(f'DROP DATABASE "{template}" WITH (FORCE)')  # never copy a half-migrated schema
        sys.exit("load: migrate failed")
    conn.close()
    return template


def fresh_database(args: argparse.Namespace, template: str) -> None:
    """Drop and create the run's database as a copy of the migrated template; empty the run's Redis database."""
    import redis

    conn, cur = admin_cursor(args)
    cur.execute(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
    cur.execute(f'CREATE DATABASE "{args.db}" TEMPLATE "{template}"')
    conn.close()
    redis.Redis.from_url(f"{args.redis}/{args.redis_db}").flushdb()


def manage(env: dict[str, str], *command: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "manage.py", *command], cwd=ROOT, env=env)


@dataclass
class Stack:
    """gunicorn, a Celery worker and beat, each in its own process group (stopped by pid at the end)."""

    env: dict[str, str]
    run_dir: Path
    args: argparse.Namespace
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def spawn(self) -> None:
        bin_dir = Path(sys.executable).parent
        self._spawn("gunicorn", [str(bin_dir / "gunicorn"), "copsite.wsgi:application", "-c", "gunicorn.conf.py"])
        celery = [sys.executable, "-m", "celery", "-A", "copsite"]
        self._spawn(
            "worker",
            [
                *celery,
                "worker",
                "--queues",
                "load",
                "--concurrency",
                str(self.args.celery_concurrency),
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "INFO",
                "--hostname",
                f"load-{os.getpid()}@%h",
            ],
        )
        self._spawn("beat", [*celery, "beat", "--loglevel", "INFO", "-s", str(self.run_dir / "beat-schedule")])

    def wait_ready(self) -> None:
        self._wait(lambda: " ready." in self.log("worker"), "worker")
        self._wait(self._healthy, "gunicorn /healthz")

    def _spawn(self, name: str, command: list[str]) -> None:
        log = open(self.run_dir / f"{name}.log", "w")  # noqa: SIM115 - lives as long as the process
        self.processes[name] = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def log(self, name: str) -> str:
        path = self.run_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _healthy(self) -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{self.args.port}/healthz", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def _wait(self, ready, what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            for name, proc in self.processes.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited early:\n{self.log(name)[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} not ready after {timeout:.0f}s")
            time.sleep(0.3)

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) of each part so far, this load client included: what the run cost."""
        used = {name: group_cpu_seconds(proc.pid) for name, proc in self.processes.items()}
        used["load client"] = time.process_time()
        return used

    def stop(self) -> None:
        for proc in self.processes.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.processes.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU of the live processes of a process group (gunicorn's workers, the pool's children)."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after "pid (comm)": state, ppid, pgrp, …
        except OSError:
            continue  # ended while we looked
        if int(fields[2]) == pgid:
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


# --- SMTP sink -----------------------------------------------------------------------------------


class Sink:
    """Every message the worker hands to SMTP, as parsed email messages (aiosmtpd handler)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 OK"

    def snapshot(self) -> list[EmailMessage]:
        with self.lock:
            return list(self.messages)


# --- seed ------------------------------------------------------------------------------------------


def seed(args: argparse.Namespace) -> tuple[str, list[dict]]:
    """One public community, members who joined a month ago, threads with a few replies: returns (slug, members)."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from accounts.models import User
    from communities import services as community_services
    from communities.models import Community, Membership
    from discussions import services

    joined = timezone.now() - timedelta(days=30)
    hashed = make_password(PASSWORD)  # one hash for all: seeding stays fast, logins still verify it
    users = User.objects.bulk_create(
        [
            User(
                username=f"member{i:02d}",
                email=f"member{i:02d}@load.example",
                display_name=f"Member {i:02d}",
                password=hashed,
                date_joined=joined,
            )
            for i in range(1, args.members + 1)
        ]
    )
    EmailAddress.objects.bulk_create([EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in users])
    community = community_services.create_community(
        users[0],
        name="Load Commons",
        slug="load",
        domain="Getting better at staying up under load.",
        visibility=Community.Visibility.OPEN,
        join_policy=Community.JoinPolicy.OPEN,
    )
    Membership.objects.bulk_create([Membership(user=u, community=community) for u in users[1:]])
    Community.objects.filter(pk=community.pk).update(member_count=len(users))
    community.refresh_from_db()
    rng = random.Random(args.seed)
    for t in range(args.threads):
        author = rng.choice(users)
        thread = services.start_thread(author, community, title=f"Load thread {t + 1}", body="How do you cope?")
        for _ in range(3):
            services.reply(rng.choice(users), thread, "Here is what works for me.")
    return community.slug, [{"username": u.username, "email": u.email} for u in users]


# --- the simulated members ------------------------------------------------------------------------


@dataclass
class Sample:
    kind: str
    status: int  # 0: no HTTP answer (timeout, connection error)
    seconds: float
    note: str = ""


@dataclass
class Reply:
    marker: str
    author: str
    thread_id: int
    parent_id: int | None
    mention: str | None
    retried: bool = False


@dataclass
class Ledger:
    """What the clients saw, shared by all member threads."""

    samples: list[Sample] = field(default_factory=list)
    acknowledged: list[Reply] = field(default_factory=list)
    unconfirmed: list[Reply] = field(default_factory=list)  # no answer even after retries: may or may not exist
    refused: list[tuple[Reply, str]] = field(default_factory=list)  # the app said no: must not exist
    helpful: dict[tuple[str, int], bool] = field(default_factory=dict)  # (username, post) -> last state shown
    logins_failed: list[str] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)  # a member's loop died: the script, not the site, is wrong
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, sample: Sample) -> None:
        with self.lock:
            self.samples.append(sample)


class SourceAddressAdapter(HTTPAdapter):
    """Connect from a given loopback address: each member is its own client IP, as in real life."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__(pool_connections=1, pool_maxsize=1)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        return super().init_poolmanager(*args, **kwargs)


CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
HELPFUL = re.compile(r'action="/p/(\d+)/helpful/"')
REPLY_TO = re.compile(r"\?to=(\d+)")
PAGE_LINK = re.compile(r'href="\?page=(\d+)"')
TITLE = re.compile(r"<title>(.*?)</title>", re.S)
ERROR_LIST = re.compile(r'class="[^"]*(?:errorlist|form-errors|alert)[^"]*"[^>]*>(.*?)</', re.S)


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', html)
    return match.group(1) if match else ""


def reason(response: requests.Response) -> str:
    """A short why for a 4xx/5xx or a refused form, for the report."""
    text = response.text
    error = ERROR_LIST.search(text)
    if error:
        return " ".join(re.sub(r"<[^>]+>", " ", error.group(1)).split())[:120]
    title = TITLE.search(text)
    return " ".join(title.group(1).split())[:120] if title else text[:120]


class Member(threading.Thread):
    def __init__(self, index: int, person: dict, everyone: list[dict], run: RunContext) -> None:
        super().__init__(name=person["username"], daemon=True)
        self.arrives_after = index * run.args.ramp / len(everyone)
        self.person = person
        self.others = [p["username"] for p in everyone if p["username"] != person["username"]]
        self.run_ctx = run
        self.rng = random.Random(run.args.seed * 1000 + index)
        self.address = f"127.0.{1 + index // 200}.{10 + index % 200}"
        self.http = requests.Session()
        self.http.mount("http://", SourceAddressAdapter(self.address))
        self.last_page: dict[int, int] = {}

    # one timed request -------------------------------------------------------------------------

    def call(
        self, kind: str, method: str, path: str, session: requests.Session | None = None, **kwargs
    ) -> requests.Response | None:
        url = self.run_ctx.base + path
        kwargs.setdefault("timeout", self.run_ctx.args.timeout)
        kwargs.setdefault("allow_redirects", False)
        started = time.perf_counter()
        try:
            response = (session or self.http).request(method, url, **kwargs)
        except requests.RequestException as exc:
            self.run_ctx.ledger.add(Sample(kind, 0, time.perf_counter() - started, type(exc).__name__))
            return None
        elapsed = time.perf_counter() - started
        note = reason(response) if response.status_code >= 400 else ""
        self.run_ctx.ledger.add(Sample(kind, response.status_code, elapsed, note))
        return response

    def htmx_headers(self) -> dict[str, str]:
        return {"HX-Request": "true", "X-CSRFToken": self.http.cookies.get("csrftoken", "")}

    # the journey ---------------------------------------------------------------------------------

    def run(self) -> None:
        time.sleep(self.arrives_after)  # people arrive over a while, not in one burst of Argon2 checks
        try:
            logged_in = self.log_in()
        finally:
            self.run_ctx.start_line.wait()  # the clock starts when everyone has tried to log in
        try:
            while logged_in and time.monotonic() < self.run_ctx.deadline:
                self.one_round()
        except Exception as exc:
            with self.run_ctx.ledger.lock:
                self.run_ctx.ledger.crashes.append(f"{self.name}: {exc!r}")
            raise

    def one_round(self) -> None:
        """Read a thread, reply to it, mark something helpful, look at the notifications (until the deadline)."""
        thread_id = self.rng.choice(self.run_ctx.thread_ids)
        page = self.read_thread(thread_id)
        steps = (
            lambda: self.reply(thread_id, page),
            lambda: self.toggle_helpful(page),
            lambda: self.call("notifications", "GET", "/notifications/"),
        )
        for step in steps if page is not None else ():
            self.pause()
            if time.monotonic() >= self.run_ctx.deadline:
                return
            step()
        self.pause()

    def pause(self) -> None:
        if self.run_ctx.args.think > 0:
            time.sleep(self.rng.uniform(0, 2 * self.run_ctx.args.think))

    def log_in(self) -> bool:
        form = self.call("login_form", "GET", "/accounts/login/")
        token = CSRF_INPUT.search(form.text) if form is not None else None
        if token:
            done = self.call(
                "login",
                "POST",
                "/accounts/login/",
                data={"csrfmiddlewaretoken": token.group(1), "login": self.person["email"], "password": PASSWORD},
                headers={"Referer": self.run_ctx.base + "/accounts/login/"},
            )
            if done is not None and done.status_code == 302 and "sessionid" in self.http.cookies:
                return True
        with self.run_ctx.ledger.lock:
            self.run_ctx.ledger.logins_failed.append(self.person["username"])
        return False

    def read_thread(self, thread_id: int) -> str | None:
        """Page 1, or (one time in three) the last page this member has seen links to."""
        path = f"/c/{self.run_ctx.slug}/t/{thread_id}/"
        last = self.last_page.get(thread_id, 1)
        kind = "read_thread"
        if last > 1 and self.rng.random() < 1 / 3:
            path += f"?page={last}"
            kind = "read_last_page"
        response = self.call(kind, "GET", path)
        if response is None or response.status_code != 200:
            return None
        pages = [int(n) for n in PAGE_LINK.findall(response.text)]
        self.last_page[thread_id] = max([last, *pages])
        return response.text

    def reply(self, thread_id: int, page: str) -> None:
        marker = f"LOAD-{uuid.uuid4().hex[:16]}"
        mention = self.rng.choice(self.others) if self.others and self.rng.random() < 0.2 else None
        body = f"Reply {marker}: this is what I tried on the ward today."
        if mention:
            body += f" What do you think, @{mention}?"
        reply_links = [int(n) for n in REPLY_TO.findall(page)]
        if reply_links and self.rng.random() < 0.35:
            self.nested_reply(
                Reply(marker, self.person["username"], thread_id, self.rng.choice(reply_links), mention), body
            )
        else:
            self.plain_reply(Reply(marker, self.person["username"], thread_id, None, mention), body, page)

    def plain_reply(self, reply: Reply, body: str, page: str) -> None:
        """The thread's own form, no JavaScript: 302 to the new post means posted.

        One time in ten the form goes twice at once, as a double click sends it
        (same submission key): still one reply.
        """
        path = f"/c/{self.run_ctx.slug}/t/{reply.thread_id}/reply/"
        data = {
            "csrfmiddlewaretoken": hidden(page, "csrfmiddlewaretoken"),
            "body": body,
            "submission_key": hidden(page, "submission_key"),
        }
        headers = {"Referer": self.run_ctx.base + path}
        twin: dict[str, requests.Response | None] = {}

        def click_again() -> None:
            twin["response"] = self.call(
                "reply_double_click", "POST", path, session=self.twin(), data=data, headers=headers
            )

        second_click = threading.Thread(target=click_again) if self.rng.random() < 0.1 else None
        if second_click is not None:
            second_click.start()
        response = self.submit("reply", path, data, reply, headers=headers)
        if second_click is not None:
            second_click.join()
        answers = [r for r in (response, twin.get("response")) if r is not None]
        posted = [r for r in answers if r.status_code == 302]
        if posted:
            self.acknowledge(reply)
            self.call("read_after_reply", "GET", posted[0].headers["Location"].split("#")[0])
        else:
            for r in answers:
                self.refuse(reply, f"{r.status_code} {reason(r)}")

    def twin(self) -> requests.Session:
        """A second connection with this member's cookies: a double click's request."""
        session = requests.Session()
        session.mount("http://", SourceAddressAdapter(self.address))
        session.cookies.update(self.http.cookies)
        return session

    def nested_reply(self, reply: Reply, body: str) -> None:
        """Reply under a post with htmx: fetch the inline form, post it; the fragment shows the new post."""
        path = f"/c/{self.run_ctx.slug}/t/{reply.thread_id}/reply/"
        form = self.call("reply_form", "GET", f"{path}?to={reply.parent_id}", headers=self.htmx_headers())
        if form is None or form.status_code != 200:
            return
        prefix = f"to{reply.parent_id}-"
        data = {
            "csrfmiddlewaretoken": hidden(form.text, "csrfmiddlewaretoken"),
            "parent": str(reply.parent_id),
            f"{prefix}body": body,
            f"{prefix}submission_key": hidden(form.text, f"{prefix}submission_key"),
        }
        response = self.submit("reply_nested", path, data, reply, headers=self.htmx_headers())
        if response is None:
            return
        if response.status_code == 200 and reply.marker in response.text and 'id="post-' in response.text:
            self.acknowledge(reply)
        else:
            self.refuse(reply, f"{response.status_code} {reason(response)}")

    def submit(self, kind: str, path: str, data: dict, reply: Reply, headers: dict) -> requests.Response | None:
        """POST; with no answer, send the same form (same submission key) again, twice at most."""
        for attempt in range(3):
            response = self.call(kind, "POST", path, data=data, headers=headers)
            if response is not None:
                reply.retried = attempt > 0
                return response
        with self.run_ctx.ledger.lock:
            self.run_ctx.ledger.unconfirmed.append(reply)
        return None

    def acknowledge(self, reply: Reply) -> None:
        with self.run_ctx.ledger.lock:
            self.run_ctx.ledger.acknowledged.append(reply)

    def refuse(self, reply: Reply, why: str) -> None:
        with self.run_ctx.ledger.lock:
            self.run_ctx.ledger.refused.append((reply, why))

    def toggle_helpful(self, page: str) -> None:
        choices = [int(n) for n in HELPFUL.findall(page)]
        if not choices:
            return
        post_id = self.rng.choice(choices)
        response = self.call("helpful", "POST", f"/p/{post_id}/helpful/", headers=self.htmx_headers())
        if response is not None and response.status_code == 200:
            state = 'aria-pressed="true"' in response.text
            with self.run_ctx.ledger.lock:
                self.run_ctx.ledger.helpful[(self.person["username"], post_id)] = state


@dataclass
class RunContext:
    args: argparse.Namespace
    base: str
    slug: str
    thread_ids: list[int]
    deadline: float = 0.0
    load_started: float = 0.0
    ledger: Ledger = field(default_factory=Ledger)
    start_line: threading.Barrier | None = None
    cpu_probe: Callable[[], dict[str, float]] = dict
    cpu_at_start: dict[str, float] = field(default_factory=dict)

    def start_clock(self) -> None:
        """Barrier action: the load (and its wall time) begins once every member has logged in."""
        self.cpu_at_start = self.cpu_probe()
        self.load_started = time.monotonic()
        self.deadline = self.load_started + self.args.duration

    def cpu_used(self) -> dict[str, float]:
        """CPU seconds each part used since the clock started."""
        return {name: seconds - self.cpu_at_start.get(name, 0.0) for name, seconds in self.cpu_probe().items()}


def run_members(ctx: RunContext, people: list[dict]) -> float:
    """Log every member in at once, then load until the deadline; returns the load phase's wall time."""
    members = [Member(i, person, people, ctx) for i, person in enumerate(people)]
    ctx.start_line = threading.Barrier(len(members), action=ctx.start_clock)
    for m in members:
        m.start()
    for m in members:
        m.join(timeout=ctx.args.duration + 3 * ctx.args.timeout + 120)
    return time.monotonic() - ctx.load_started


# --- after the run: drain, then check ----------------------------------------------------------------


def drain(args: argparse.Namespace, sink: Sink) -> None:
    """Publish the notification sweep until every notification is handled, then wait for the outbox."""
    from copsite.celery import app
    from core.models import OutboundEmail
    from notifications.models import Notification

    deadline = time.monotonic() + args.drain
    last_publish = 0.0
    while time.monotonic() < deadline:
        unhandled = Notification.objects.filter(emailed_at__isnull=True).count()
        if unhandled and time.monotonic() - last_publish > 3:
            app.send_task("digests.send_notification_emails", queue="load")
            last_publish = time.monotonic()
        open_rows = OutboundEmail.objects.exclude(state=OutboundEmail.State.SENT).count()
        sent = OutboundEmail.objects.filter(state=OutboundEmail.State.SENT).count()
        if not unhandled and not open_rows and len(sink.snapshot()) >= sent:
            time.sleep(3)  # a late duplicate would land now
            return
        time.sleep(0.5)


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def check_replies(ctx: RunContext) -> tuple[list[Check], dict]:
    from discussions.models import Post

    ledger = ctx.ledger
    stored = Counter()
    posts_by_marker: dict[str, Post] = {}
    for post in Post.objects.filter(body__contains="LOAD-").only("pk", "body", "parent_id", "thread_id", "author"):
        for marker in MARKER.findall(post.body):
            stored[marker] += 1
            posts_by_marker[marker] = post
    acked = {r.marker: r for r in ledger.acknowledged}
    lost = [m for m in acked if stored[m] == 0]
    duplicated = [m for m, n in stored.items() if n > 1]
    unconfirmed = {r.marker for r in ledger.unconfirmed}
    refused = {r.marker for r, _ in ledger.refused}
    unexpected = [m for m in stored if m not in acked and m not in unconfirmed]
    refused_but_stored = [m for m in stored if m in refused]
    wrong_place = [
        m
        for m, r in acked.items()
        if m in posts_by_marker
        and (
            posts_by_marker[m].thread_id != r.thread_id
            or (r.parent_id is not None and posts_by_marker[m].parent_id != r.parent_id)
        )
    ]
    checks = [
        Check("acknowledged replies stored", not lost, f"{len(acked)} acknowledged, {len(lost)} lost {lost[:5]}"),
        Check("no reply stored twice", not duplicated, f"{len(duplicated)} duplicated {duplicated[:5]}"),
        Check(
            "no reply stored that the client wasn't told about",
            not unexpected and not refused_but_stored,
            f"{len(unexpected)} unexplained, {len(refused_but_stored)} refused yet stored; "
            f"{len(unconfirmed)} unconfirmed after retries ({sum(1 for m in unconfirmed if stored[m])} of them stored)",
        ),
        Check("replies under the intended thread and parent", not wrong_place, f"{len(wrong_place)} misplaced"),
    ]
    figures = {
        "replies_acknowledged": len(acked),
        "replies_retried": sum(1 for r in ledger.acknowledged if r.retried),
        "replies_unconfirmed": len(unconfirmed),
        "replies_refused": len(refused),
        "lost_replies": len(lost),
        "duplicate_replies": len(duplicated),
    }
    return checks, figures


def check_counters(ctx: RunContext) -> list[Check]:
    from django.db.models import Count, Max

    from accounts.models import User
    from discussions.models import Post, Reaction, Thread

    bad_threads = []
    for thread in Thread.objects.all():
        posts = Post.objects.filter(thread=thread)
        facts = posts.aggregate(n=Count("pk"), newest=Max("created_at"))
        newest = posts.order_by("-created_at", "-pk").first()
        if (
            thread.reply_count != facts["n"] - 1
            or thread.last_activity_at != facts["newest"]
            or thread.last_poster_id != newest.author_id
        ):
            bad_threads.append(thread.pk)
    children = dict(
        Post.objects.filter(parent__isnull=False).values("parent").annotate(n=Count("pk")).values_list("parent", "n")
    )
    bad_child_counts = [p for p, n in Post.objects.values_list("pk", "child_count") if children.get(p, 0) != n]
    reactions = dict(Reaction.objects.values("post").annotate(n=Count("pk")).values_list("post", "n"))
    bad_helpful = [p for p, n in Post.objects.values_list("pk", "helpful_count") if reactions.get(p, 0) != n]
    duplicate_paths = Post.objects.values("thread", "path").annotate(n=Count("pk")).filter(n__gt=1).count()
    usernames = dict(User.objects.values_list("username", "pk"))
    have = set(Reaction.objects.values_list("user_id", "post_id"))
    wrong_state = [
        (name, post) for (name, post), on in ctx.ledger.helpful.items() if ((usernames[name], post) in have) != on
    ]
    return [
        Check(
            "thread reply_count, last activity and last poster match the posts",
            not bad_threads,
            f"{Thread.objects.count()} threads, {len(bad_threads)} wrong {bad_threads[:5]}",
        ),
        Check(
            "child_count matches children; paths unique",
            not bad_child_counts and not duplicate_paths,
            f"{len(bad_child_counts)} wrong child counts, {duplicate_paths} duplicate paths",
        ),
        Check(
            "helpful_count equals reaction rows",
            not bad_helpful,
            f"{Reaction.objects.count()} reactions, {len(bad_helpful)} posts wrong {bad_helpful[:5]}",
        ),
        Check(
            "each member's helpful state as last shown",
            not wrong_state,
            f"{len(ctx.ledger.helpful)} (member, post) pairs, {len(wrong_state)} differ {wrong_state[:5]}",
        ),
    ]


def check_notifications(ctx: RunContext, sink: Sink) -> tuple[list[Check], dict]:
    from accounts.models import User
    from core.models import OutboundEmail
    from discussions.models import Post
    from notifications.models import Notification

    usernames = dict(User.objects.values_list("username", "pk"))
    # What each acknowledged reply should have notified: the mentioned member, else the parent's author.
    marker_posts = {}
    for post in Post.objects.filter(body__contains="LOAD-").select_related("parent"):
        for marker in MARKER.findall(post.body):
            marker_posts[marker] = post
    expected, actual = set(), set()
    for reply in ctx.ledger.acknowledged + ctx.ledger.unconfirmed:
        post = marker_posts.get(reply.marker)
        if post is None:
            continue
        mentioned = usernames.get(reply.mention) if reply.mention else None
        if mentioned and mentioned != post.author_id:
            expected.add((mentioned, post.pk, Notification.Kind.MENTION.value))
        parent_author = post.parent.author_id
        if parent_author != post.author_id and parent_author != mentioned:
            expected.add((parent_author, post.pk, Notification.Kind.REPLY.value))
    load_posts = {p.pk for p in marker_posts.values()}
    # What a reply itself tells (a mention, a reply to someone); "helpful" follows the reactions, not the reply.
    told_by_reply = [Notification.Kind.MENTION, Notification.Kind.REPLY]
    for user_id, post_id, kind in Notification.objects.filter(kind__in=told_by_reply).values_list(
        "user_id", "post_id", "kind"
    ):
        if post_id in load_posts:
            actual.add((user_id, post_id, kind))

    messages = sink.snapshot()
    ids = Counter(m["Message-ID"] for m in messages)
    rows = OutboundEmail.objects.all()
    states = Counter(rows.values_list("state", flat=True))
    sent_ids = set(rows.filter(state=OutboundEmail.State.SENT).values_list("message_id", flat=True))
    # Each emailed notification must be in exactly one message to its person (its post's link).
    emails = dict(User.objects.values_list("pk", "email"))
    mailed = Counter()
    for m in messages:
        for post_id in re.findall(r"/p/(\d+)/", m.get_body(("plain",)).get_content()):
            mailed[(m["To"], int(post_id))] += 1
    wanted = Counter(
        (emails[u], p) for u, p in Notification.objects.filter(email_sent=True).values_list("user_id", "post_id")
    )
    unhandled = Notification.objects.filter(emailed_at__isnull=True).count()
    checks = [
        Check(
            "each reply notified exactly the right people",
            expected == actual,
            f"{len(actual)} notifications for load replies; {len(expected - actual)} missing, "
            f"{len(actual - expected)} unexpected",
        ),
        Check("every notification handled by the email sweep", unhandled == 0, f"{unhandled} never handled"),
        Check("outbox empty: nothing pending, sending or failed", set(states) <= {"sent"}, f"states {dict(states)}"),
        Check(
            "SMTP got each sent email once",
            len(messages) == states["sent"] and set(ids) == sent_ids and all(n == 1 for n in ids.values()),
            f"{len(messages)} messages received, {states['sent']} rows sent, "
            f"{sum(n - 1 for n in ids.values())} duplicate Message-IDs",
        ),
        Check(
            "each emailed notification in exactly one message to its person",
            mailed == wanted,
            f"{sum(wanted.values())} emailed notifications, {len(set(wanted) - set(mailed))} missing, "
            f"{sum(1 for k, n in mailed.items() if n > 1)} repeated, {len(set(mailed) - set(wanted))} stray",
        ),
    ]
    figures = {
        "notifications": Notification.objects.count(),
        "notifications_emailed": sum(wanted.values()),
        "emails_sent": states["sent"],
        "smtp_messages": len(messages),
        "duplicate_message_ids": sum(n - 1 for n in ids.values()),
        "duplicate_notification_emails": sum(n - 1 for n in mailed.values()),
    }
    return checks, figures


# --- report ----------------------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    rank = math.ceil(q * len(sorted_values))  # nearest rank
    return sorted_values[min(len(sorted_values), max(rank, 1)) - 1]


def latency_rows(samples: list[Sample], wall: float) -> list[dict]:
    by_kind: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        by_kind[s.kind].append(s)
    rows = []
    for kind, group in [*sorted(by_kind.items()), ("all", samples)]:
        times = sorted(s.seconds * 1000 for s in group)
        rows.append(
            {
                "kind": kind,
                "requests": len(group),
                "per_second": len(group) / wall if wall else 0.0,
                "5xx": sum(1 for s in group if s.status >= 500),
                "4xx": sum(1 for s in group if 400 <= s.status < 500),
                "no_answer": sum(1 for s in group if s.status == 0),
                "p50": percentile(times, 0.50),
                "p90": percentile(times, 0.90),
                "p99": percentile(times, 0.99),
                "max": times[-1] if times else 0.0,
            }
        )
    return rows


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def latency_table(rows: list[dict], rate: bool = True) -> list[str]:
    lines = [
        "| kind | requests | req/s | 5xx | 4xx | no answer | p50 ms | p90 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        name = f"**{r['kind']}**" if r["kind"] == "all" else r["kind"]
        per_second = f"{r['per_second']:.1f}" if rate else "–"
        lines.append(
            f"| {name} | {r['requests']} | {per_second} | {r['5xx']} | {r['4xx']} | {r['no_answer']} "
            f"| {r['p50']:.0f} | {r['p90']:.0f} | {r['p99']:.0f} | {r['max']:.0f} |"
        )
    return lines


def render_report(args, meta: dict, rows: list[dict], checks: list[Check], figures: dict, ledger: Ledger) -> str:
    ok = all(c.ok for c in checks)
    lines = [
        "# Load test: members replying, reacting and reading",
        "",
        f"Result: **{'PASS' if ok else 'FAIL'}** — {meta['finished']} UTC, commit `{meta['commit']}`, "
        f"`bench/load.py --members {args.members} --duration {args.duration:g}` (think time uniform "
        f"0–{2 * args.think:g} s between actions).",
        "",
        f"**{figures['requests']} requests, {figures['throughput_rps']} req/s; errors (5xx or no answer): "
        f"{figures['errors_5xx'] + figures['no_answer']}; lost replies: {figures['lost_replies']} of "
        f"{figures['replies_acknowledged']} acknowledged; duplicate replies: {figures['duplicate_replies']}; "
        f"duplicate notification emails: {figures['duplicate_notification_emails']}; "
        f"p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms.**",
        "",
        f"Stack on {meta['cores']} cores, loopback only: gunicorn ({args.web_workers} sync workers, the project's "
        f"`gunicorn.conf.py`, DEBUG=0), PostgreSQL database `{args.db}`, Redis db {args.redis_db} (cache and broker), "
        f"a Celery worker (prefork, concurrency {args.celery_concurrency}) and beat, SMTP to an aiosmtpd sink in the "
        f"load process. Posting limits raised for the run: `POST_RATE_LIMIT={args.post_limit}` "
        "(same for new accounts); "
        "each member logs in from its own loopback address, so allauth's per-IP login limit is not hit.",
        "",
        f"Load average (1/5/15 min) before: {meta['load_before']}; after: {meta['load_after']}. "
        "The machine is shared with other work, so figures taken while it is busy are pessimistic.",
        "",
        f"Members: {args.members} ({len(ledger.logins_failed)} could not log in). Members log in "
        f"first; the clock starts when the last is in; client timeout {args.timeout:g} s. "
        f"Load phase: {meta['wall']:.1f} s measured.",
        "",
        "CPU used during the load phase (s): "
        + ", ".join(f"{name} {seconds:.1f}" for name, seconds in meta["cpu"].items())
        + f" — gunicorn {1000 * meta['cpu']['gunicorn'] / max(figures['requests'], 1):.0f} ms per request; "
        f"the machine had {meta['cores']} × {meta['wall']:.0f} = {meta['cores'] * meta['wall']:.0f} core-seconds "
        "(PostgreSQL and Redis not counted).",
        "",
        "Steps (s): " + ", ".join(f"{name} {seconds:.1f}" for name, seconds in meta["phases"].items()) + ".",
        "",
        "## Requests during the load",
        "",
        *latency_table(rows),
        "",
        "Kinds: `read_thread` page 1, `read_last_page` the last page the member had seen a link to, "
        "`reply` the thread's plain form (302), `reply_double_click` the same form sent a second time at once "
        "(one reply in ten), `read_after_reply` following that redirect, `reply_form` + "
        "`reply_nested` the inline htmx form under a post, `helpful` the htmx toggle, `notifications` the list.",
        "",
        f"Logging in before the clock, members arriving over {args.ramp:g} s (Argon2 password check):",
        "",
        *latency_table(meta["login_rows"][:-1], rate=False),
        "",
    ]
    problems = Counter(
        f"{s.kind}: {s.status or 'no answer'} {s.note}".strip()
        for s in ledger.samples
        if s.status == 0 or s.status >= 400
    )
    refusals = Counter(why for _, why in ledger.refused)
    lines += ["## Errors", ""]
    if not problems and not refusals:
        lines.append("None: no 5xx, no 4xx, no request without an answer, no refused reply.")
    for text, n in problems.most_common():
        lines.append(f"- {n} × {text}")
    for text, n in refusals.most_common():
        lines.append(f"- {n} × reply refused: {text}")
    lines += ["", "## Nothing lost", "", "| check | result | detail |", "|---|---|---|"]
    for c in checks:
        lines.append(f"| {c.name} | {'PASS' if c.ok else '**FAIL**'} | {c.detail} |")
    lines += ["", "## Figures", "", "| figure | value |", "|---|---:|"]
    lines += [f"| {k.replace('_', ' ')} | {v} |" for k, v in figures.items()]
    return "\n".join(lines) + "\n"


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


# --- main ------------------------------------------------------------------------------------------


class Phases:
    """Wall time of each step, for the report (where a slow run spent its time)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.mark = time.monotonic()

    def done(self, name: str) -> None:
        now = time.monotonic()
        self.seconds[name] = now - self.mark
        self.mark = now
        print(f"load: {name} {self.seconds[name]:.1f} s", flush=True)


def prepare(args: argparse.Namespace, stack: Stack, phases: Phases) -> tuple[str, list[dict]]:
    """A fresh database and static files; the stack boots while this process (a Django client) seeds."""
    static = manage(stack.env, "collectstatic", "--noinput", "-v0")
    fresh_database(args, migrated_template(args, stack.env))
    if static.wait() != 0:
        sys.exit("load: collectstatic failed")
    phases.done("database and static files")
    stack.spawn()
    for name in DROPPED_ENV:
        os.environ.pop(name, None)
    os.environ.update(stack.env)
    import django

    django.setup()
    slug, people = seed(args)
    phases.done("seed")
    stack.wait_ready()
    phases.done("gunicorn, worker and beat ready")
    return slug, people


def verify(ctx: RunContext, sink: Sink, stack: Stack) -> tuple[list[Check], dict]:
    samples = ctx.ledger.samples
    answered_badly = [s for s in samples if s.status == 0 or s.status >= 500]
    reply_checks, reply_figures = check_replies(ctx)
    mail_checks, mail_figures = check_notifications(ctx, sink)
    tracebacks = stack.log("gunicorn").count("Traceback") + stack.log("worker").count("Traceback")
    checks = [
        Check("every member logged in", not ctx.ledger.logins_failed, f"{len(ctx.ledger.logins_failed)} failed"),
        Check("no simulated member crashed", not ctx.ledger.crashes, "; ".join(ctx.ledger.crashes[:3]) or "none"),
        Check(
            "no 5xx and no request left without an answer",
            not answered_badly,
            f"{len(samples)} requests (logins included), {len(answered_badly)} 5xx or unanswered",
        ),
        *reply_checks,
        *check_counters(ctx),
        *mail_checks,
        Check("no traceback in the gunicorn or worker log", tracebacks == 0, f"{tracebacks} tracebacks"),
    ]
    figures = {
        "errors_5xx": sum(1 for s in samples if s.status >= 500),
        "errors_4xx": sum(1 for s in samples if 400 <= s.status < 500),
        "no_answer": sum(1 for s in samples if s.status == 0),
        **reply_figures,
        **mail_figures,
        "helpful_pairs_on": f"{sum(ctx.ledger.helpful.values())} of {len(ctx.ledger.helpful)}",
    }
    return checks, figures


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.port = args.port or free_port()
    load_before = load_average()
    phases = Phases()
    run_dir = Path(tempfile.mkdtemp(prefix="copsite-load-"))
    from aiosmtpd.controller import Controller

    sink = Sink()
    smtp_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    ensure_services(args)
    stack = Stack(stack_env(args, run_dir, smtp_port), run_dir, args)
    print(f"load: fresh database {args.db}, Redis db {args.redis_db}; logs in {run_dir}", flush=True)
    controller.start()
    try:
        slug, people = prepare(args, stack, phases)
        from discussions.models import Thread

        ctx = RunContext(
            args=args,
            base=f"http://127.0.0.1:{args.port}",
            slug=slug,
            thread_ids=list(Thread.objects.values_list("pk", flat=True)),
            cpu_probe=stack.cpu_seconds,
        )
        print(f"load: {args.members} members log in, then load for {args.duration:g} s", flush=True)
        wall = run_members(ctx, people)
        cpu = ctx.cpu_used()
        phases.seconds["log in"] = ctx.load_started - phases.mark
        phases.mark = ctx.load_started
        phases.done("load")
        drain(args, sink)
        phases.done("drain email")
    finally:
        stack.stop()
        controller.stop()
    load_after = load_average()
    checks, figures = verify(ctx, sink, stack)
    phases.done("stop and check")
    in_load = [s for s in ctx.ledger.samples if s.kind not in LOGIN_KINDS]
    rows = latency_rows(in_load, wall)
    total = rows[-1]
    figures = {
        "requests": total["requests"],
        "throughput_rps": round(total["per_second"], 1),
        "p50_ms": round(total["p50"]),
        "p99_ms": round(total["p99"]),
        **figures,
    }
    meta = {
        "finished": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "commit": git_commit(),
        "cores": os.cpu_count(),
        "load_before": load_before,
        "load_after": load_after,
        "wall": wall,
        "phases": phases.seconds,
        "login_rows": latency_rows([s for s in ctx.ledger.samples if s.kind in LOGIN_KINDS], 0),
        "cpu": cpu,
    }
    ok = all(c.ok for c in checks)
    report = render_report(args, meta, rows, checks, figures, ctx.ledger)
    args.report.write_text(report)
    print(report)
    if args.json:
        result = {"ok": ok, "figures": figures, "rows": rows, "checks": [c.__dict__ for c in checks]}
        args.json.write_text(json.dumps(result, indent=2))
    if args.keep:
        print(f"load: logs kept in {run_dir}")
    else:
        shutil.rmtree(run_dir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
