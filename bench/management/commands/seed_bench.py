"""Seed the side-by-side benchmark dataset (shared/perf/lib/dataset.py) through copsite's models, fast.

The dataset (50 users, 5 categories, 2,000 topics, 20,000 posts, one topic of
1,001 posts) is the one every peer forum of the harness gets. Here:

* users: ``bulk_create`` with unusable passwords and a verified, primary
  allauth ``EmailAddress`` each; the first user is the one site admin
  (``is_staff``/``is_superuser``);
* one PUBLIC, OPEN community per category through
  ``communities.services.create_community`` (owner: the first user), the other
  49 memberships by ``bulk_create``; ``member_count`` and
  ``last_activity_at`` set once at the end;
* threads and posts by ``bulk_create``; each distinct body rendered once by
  ``core.markup.render`` (the renderer ``discussions.services`` uses;
  bodies with an ``@`` go through ``render_post`` so mentions resolve as they
  would in the app), ``body_html``/``body_text``/``render_version`` stored;
* thread shape: every reply is a child of the opening post (depth 1, paths
  ``000001``, ``000002``… in the dataset's chronological order), so tree
  order is time order and pages hold the same posts as the peers' flat
  lists; the opening post's ``child_count`` is its reply count; post
  numbers (read tracking) are 1 for the opening post, then that order;
* denormalised fields (``reply_count``, ``highest_post_number``,
  ``last_activity_at``, ``last_poster``, ``child_count``) are written with the rows; only
  ``opening_post`` needs one UPDATE afterwards;
* PostgreSQL: search vectors as ``discussions.services`` leaves them (thread:
  title A + opening post text B; replies: text B; opening posts: none), one
  UPDATE per table, then ``ANALYZE``.

* the bench member (bench/member.py): the second user, with a database
  session (its cookie goes into the target file) and "helpful" marks on
  every 4th post of the big thread.

Not made (anonymous pages do not read them): participation ledger rows,
notifications, read states, audit entries beyond ``create_community``'s own.

``--target FILE`` writes the harness target JSON (format:
shared/perf/README.md) with the four measured pages, the seeding phases and
the environment the server must run with (the copsite variables of this
process's environment).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import math
import multiprocessing
import os
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, connections, transaction
from django.db.models import Count, F, Max, OuterRef, Subquery
from django.urls import reverse
from django.utils.text import slugify

BATCH = 1000
PAGE_SIZE = 20  # the harness measures 20 topics per list page and 20 posts per topic page

# Variables copied from this process's environment into the target's "env":
# the server must see the same settings the seed ran with.
ENV_KEYS = (
    "DJANGO_SETTINGS_MODULE",
    "DATABASE_URL",
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "SITE_URL",
    "CSRF_TRUSTED_ORIGINS",
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "REDIS_URL",
    "EMAIL_URL",
    "POSTS_PER_PAGE",
    "THREADS_PER_PAGE",
    "PAGE_CACHE_SECONDS",
    "STATIC_ROOT",
    "MEDIA_ROOT",
    "COPSITE_VAR_DIR",
    "LOG_LEVEL",
    "LOG_JSON",
)


def _render_plain(body: str) -> tuple[str, str]:
    """Pool worker: body → (html, text). No database access."""
    from core.markup import render

    rendered = render(body)
    return rendered.html, rendered.text


def load_dataset(path: Path):
    spec = importlib.util.spec_from_file_location("perf_dataset", path)
    if spec is None or spec.loader is None:
        raise CommandError(f"Cannot import the dataset module at {path}.")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Command(BaseCommand):
    help = "Load the benchmark harness's dataset into an empty database (fast, bulk) and write its target file."

    def add_arguments(self, parser) -> None:
        default = Path(settings.BASE_DIR) / ".." / "shared" / "perf" / "lib" / "dataset.py"
        parser.add_argument(
            "--dataset", default=str(default), help="Path of the harness's dataset.py (default: %(default)s)."
        )
        parser.add_argument("--flush", action="store_true", help="Empty the whole database first (manage.py flush).")
        parser.add_argument("--target", help="Write the harness target JSON here.")
        parser.add_argument(
            "--port",
            type=int,
            default=8104,
            help="Port the benchmark server listens on (default %(default)s: the harness's peers use 8101-8103).",
        )
        parser.add_argument(
            "--gunicorn-config",
            default="",
            help="gunicorn --config for the target's start command (without one, gunicorn would read "
            "./gunicorn.conf.py from the project).",
        )
        parser.add_argument(
            "--jobs",
            type=int,
            default=min(os.cpu_count() or 1, 4),
            help="Processes rendering Markdown (default %(default)s; 1 renders in this process).",
        )
        parser.add_argument(
            "--copies",
            type=int,
            default=1,
            help="Load the topics and posts this many times (5 = 100,000 posts, for bench/search.py; "
            "the harness pages are those of the first copy).",
        )

    # --- entry point -----------------------------------------------------------------

    def handle(self, *args, **options) -> None:
        from accounts.models import User
        from communities.models import Community
        from discussions.models import Post, Thread

        dataset_path = Path(options["dataset"]).resolve()
        if not dataset_path.is_file():
            raise CommandError(f"No dataset module at {dataset_path} (use --dataset).")
        if settings.POSTS_PER_PAGE != PAGE_SIZE or settings.THREADS_PER_PAGE != PAGE_SIZE:
            self.stderr.write(
                self.style.WARNING(
                    f"Settings give POSTS_PER_PAGE={settings.POSTS_PER_PAGE}, THREADS_PER_PAGE="
                    f"{settings.THREADS_PER_PAGE}; the harness compares pages of {PAGE_SIZE}. The target's last "
                    f"page is computed for {PAGE_SIZE} posts a page: run the server with POSTS_PER_PAGE={PAGE_SIZE} "
                    f"THREADS_PER_PAGE={PAGE_SIZE}."
                )
            )

        if options["flush"]:
            call_command("flush", interactive=False, verbosity=0)
        elif any(m.objects.exists() for m in (User, Community, Thread, Post)):
            raise CommandError(
                "The database is not empty (users, communities, threads or posts exist). "
                "Use a fresh database, or --flush to empty this one first (destroys everything in it)."
            )

        self.phases: dict[str, float] = {}
        t0 = time.perf_counter()
        ds = load_dataset(dataset_path)
        data = ds.build()
        summary = ds.summary(data)
        generate_s = time.perf_counter() - t0
        self.stdout.write(
            f"dataset {dataset_path}: {summary['users']} users, {summary['categories']} categories, "
            f"{summary['topics']} topics, {summary['posts']} posts, sha256 {summary['sha256'][:12]} "
            f"(built in {generate_s:.2f} s)"
        )

        rendered = self._timed("render_markdown", self._render, data, options["jobs"])
        with transaction.atomic():
            users = self._timed("users", self._users, data)
            communities = self._timed("communities", self._communities, data, users)
            threads = self._timed("threads", self._threads, data, users, communities)
            self._timed("posts", self._posts, data, users, threads, rendered)
            for copy in range(2, options["copies"] + 1):
                more = self._timed(f"threads_{copy}", self._threads, data, users, communities)
                self._timed(f"posts_{copy}", self._posts, data, users, more, rendered)
            self._timed("denormalise", self._denormalise)
        self._timed("search_vectors", self._search_vectors)
        # The member's "helpful" marks update posts: before VACUUM, so its pages stay all-visible.
        member = self._timed("bench_member", self._bench_member, users, communities[0], threads[0])
        self._timed("analyze", self._analyze)
        self._bump_page_cache()

        seed_s = sum(self.phases.values())
        counts = {
            "users": User.objects.count(),
            "communities": Community.objects.count(),
            "threads": Thread.objects.count(),
            "posts": Post.objects.count(),
        }
        self.stdout.write(
            "phases: " + ", ".join(f"{k} {v:.2f} s" for k, v in self.phases.items()) + f"; total {seed_s:.2f} s"
        )
        self.stdout.write("totals: " + ", ".join(f"{k} {v}" for k, v in counts.items()))

        big = threads[0]
        big_posts = data["topics"][0]["n_posts"]
        last_page = math.ceil(big_posts / PAGE_SIZE)
        big_url = reverse("discussions:thread", kwargs={"slug": communities[0].slug, "pk": big.pk})
        pages = {
            "index": reverse("communities:directory"),
            "category": reverse("communities:detail", kwargs={"slug": communities[0].slug}),
            "topic_first": big_url,
            "topic_last": f"{big_url}?page={last_page}",
        }
        for name, url in pages.items():
            self.stdout.write(f"  {name:<12} {url}")
        if options["target"]:
            target = self._target(options, pages, summary, generate_s, seed_s, counts, last_page)
            # The member's own pages: the big thread, and their home (the member home's Latest tab).
            member_pages = {"topic_first": big_url, "topic_last": pages["topic_last"], "home": reverse("home")}
            target["member"] = {**member, "pages": member_pages}
            out = Path(options["target"])
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(target, indent=2) + "\n")
            self.stdout.write(f"target written to {out}")

    # --- phases -------------------------------------------------------------------------

    def _timed(self, name: str, fn, *args):
        t = time.perf_counter()
        result = fn(*args)
        self.phases[name] = time.perf_counter() - t
        self.stdout.write(f"  {name:<16} {self.phases[name]:7.2f} s")
        return result

    def _render(self, data, jobs: int) -> dict[str, tuple[str, str]]:
        """Each distinct body rendered once; returns body → (html, text)."""
        from discussions.services import render_post

        bodies = list(dict.fromkeys(p["body"] for p in data["posts"]))
        plain = [b for b in bodies if "@" not in b]
        # Mentions need a user look-up: the app's own render_post, in this process.
        with_mentions = [b for b in bodies if "@" in b]
        if jobs > 1 and len(plain) > 1000:
            # Forked workers must not share this process's database socket.
            connections.close_all()
            with multiprocessing.get_context("fork").Pool(jobs) as pool:
                results = pool.map(_render_plain, plain, chunksize=250)
        else:
            results = [_render_plain(b) for b in plain]
        cache = dict(zip(plain, results, strict=True))
        for body in with_mentions:
            r = render_post(body)
            cache[body] = (r.html, r.text)
        self.stdout.write(
            f"    {len(data['posts'])} bodies, {len(bodies)} distinct, rendered with {max(jobs, 1)} process(es)"
        )
        return cache

    def _users(self, data):
        from allauth.account.models import EmailAddress
        from django.contrib.auth.hashers import make_password
        from django.contrib.sites.models import Site

        from accounts.models import User

        joined = data["topics"][0]["created"] - timedelta(days=30)
        users = []
        for i, u in enumerate(data["users"]):
            users.append(
                User(
                    username=u["username"],
                    email=u["email"],
                    password=make_password(None),
                    date_joined=joined,
                    is_staff=i == 0,
                    is_superuser=i == 0,
                )
            )
        users = User.objects.bulk_create(users)
        EmailAddress.objects.bulk_create(
            [EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in users]
        )
        Site.objects.update_or_create(
            pk=settings.SITE_ID,
            defaults={"domain": urlsplit(settings.SITE_URL).netloc, "name": settings.COPSITE_NAME},
        )
        return users

    def _communities(self, data, users):
        from communities.models import Community, Membership
        from communities.services import create_community

        owner = users[0]
        communities = []
        for cat in data["categories"]:
            community = create_community(
                owner,
                name=cat["title"],
                slug=slugify(cat["title"]),
                domain=cat["description"],
                description=cat["description"],
                visibility=Community.Visibility.OPEN,
                join_policy=Community.JoinPolicy.OPEN,
            )
            communities.append(community)
        Membership.objects.bulk_create(
            [
                Membership(
                    user=u,
                    community=c,
                    role=Membership.Role.MEMBER,
                    state=Membership.State.ACTIVE,
                    joined_at=u.date_joined,
                )
                for c in communities
                for u in users
                if u.pk != owner.pk
            ],
            batch_size=BATCH,
        )
        return communities

    def _threads(self, data, users, communities):
        from discussions.models import Thread

        posts = data["posts"]
        threads = [
            Thread(
                community=communities[t["category"]],
                title=t["title"],
                kind=Thread.Kind.DISCUSSION,
                author=users[t["author"]],
                created_at=t["created"],
                reply_count=t["n_posts"] - 1,
                highest_post_number=t["n_posts"],
                last_activity_at=t["last_active"],
                last_poster=users[posts[t["first_post"] + t["n_posts"] - 1]["author"]],
            )
            for t in data["topics"]
        ]
        return Thread.objects.bulk_create(threads, batch_size=BATCH)

    def _posts(self, data, users, threads, rendered) -> None:
        from core.markup import RENDER_VERSION
        from discussions.models import Post, path_segment

        posts = data["posts"]

        def make(p, thread, *, parent=None, index=0, child_count=0) -> Post:
            html, text = rendered[p["body"]]
            return Post(
                thread=thread,
                author=users[p["author"]],
                parent=parent,
                depth=0 if parent is None else 1,
                path="" if parent is None else path_segment(index),
                number=index + 1,
                child_count=child_count,
                body=p["body"],
                body_html=html,
                body_text=text,
                render_version=RENDER_VERSION,
                created_at=p["created"],
            )

        openings = Post.objects.bulk_create(
            [make(posts[t["first_post"]], threads[t["idx"]], child_count=t["n_posts"] - 1) for t in data["topics"]],
            batch_size=BATCH,
        )
        batch: list[Post] = []
        for t in data["topics"]:
            thread, opening = threads[t["idx"]], openings[t["idx"]]
            for k in range(1, t["n_posts"]):
                batch.append(make(posts[t["first_post"] + k], thread, parent=opening, index=k))
                if len(batch) >= BATCH:
                    Post.objects.bulk_create(batch)
                    batch = []
        if batch:
            Post.objects.bulk_create(batch)

    def _denormalise(self) -> None:
        from communities.models import Community, Membership
        from discussions.models import Post, Thread

        Thread.objects.update(
            opening_post=Subquery(Post.objects.filter(thread=OuterRef("pk"), depth=0).values("pk")[:1])
        )
        threads = Thread.objects.filter(community=OuterRef("pk")).order_by().values("community")
        Community.objects.update(
            member_count=Subquery(
                Membership.objects.filter(community=OuterRef("pk"), state=Membership.State.ACTIVE)
                .order_by()
                .values("community")
                .annotate(n=Count("pk"))
                .values("n")
            ),
            last_activity_at=Subquery(threads.annotate(last=Max("last_activity_at")).values("last")),
        )

    def _search_vectors(self) -> None:
        from core.search import SEARCH_CONFIG, full_text
        from discussions.models import Post, Thread

        if not full_text():
            self.stdout.write("    not PostgreSQL: search vectors left empty")
            return
        post_table = connection.ops.quote_name(Post._meta.db_table)
        thread_table = connection.ops.quote_name(Thread._meta.db_table)
        # Table names come from the models (quoted); the one value is a parameter.
        with connection.cursor() as cur:
            # discussions.services: replies get their text at weight B…
            cur.execute(
                f"UPDATE {post_table} SET search_vector = "  # noqa: S608
                "setweight(to_tsvector(%s::regconfig, coalesce(body_text, '')), 'B') WHERE depth > 0",
                [SEARCH_CONFIG],
            )
            # …threads their title (A) and opening post text (B).
            cur.execute(
                f"UPDATE {thread_table} AS t SET search_vector = "  # noqa: S608
                "setweight(to_tsvector(%s::regconfig, coalesce(t.title, '')), 'A') || "
                "setweight(to_tsvector(%s::regconfig, coalesce(p.body_text, '')), 'B') "
                f"FROM {post_table} AS p WHERE p.id = t.opening_post_id",
                [SEARCH_CONFIG, SEARCH_CONFIG],
            )

    def _analyze(self) -> None:
        # VACUUM as autovacuum soon would: it sets the visibility map, so deep
        # thread pages find their first row by an index-only scan.
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("VACUUM ANALYZE")

    def _bench_member(self, users, community, thread) -> dict:
        """A logged-in member for bench/member.py: a session, and "helpful" marks on every 4th post of the big thread.

        The member has read nothing yet, so the first view of each page writes
        the read position once (that page's posts); later views of a page find
        nothing new and write nothing.
        """
        from importlib import import_module

        from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

        from discussions.models import Post, Reaction

        member = users[1]
        helpful = list(Post.objects.filter(thread=thread).exclude(author=member).values_list("pk", flat=True)[::4])
        Reaction.objects.bulk_create([Reaction(post_id=pk, user=member) for pk in helpful], batch_size=BATCH)
        Post.objects.filter(pk__in=helpful).update(helpful_count=F("helpful_count") + 1)
        session = import_module(settings.SESSION_ENGINE).SessionStore()
        session[SESSION_KEY] = str(member.pk)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        session[HASH_SESSION_KEY] = member.get_session_auth_hash()
        session.set_expiry(timedelta(days=30))
        session.create()
        self.stdout.write(f"    member {member.username}: {len(helpful)} helpful marks, session cookie in the target")
        return {"username": member.username, "cookie": f"{settings.SESSION_COOKIE_NAME}={session.session_key}"}

    def _bump_page_cache(self) -> None:
        """Bulk writes send no signals: make any whole-page cache forget what it held."""
        try:
            from core import pagecache
        except ImportError:
            return
        bump = getattr(pagecache, "bump_everything", None)
        if bump is not None:
            bump()

    # --- target file ---------------------------------------------------------------------

    def _target(self, options, pages, summary, generate_s, seed_s, counts, last_page) -> dict:
        from importlib.metadata import PackageNotFoundError, version

        port = options["port"]
        bindir = Path(sys.executable).parent
        module, attr = settings.WSGI_APPLICATION.rsplit(".", 1)
        querycount = Path(options["dataset"]).resolve().parent / "querycount.py"
        env = {k: os.environ[k] for k in ENV_KEYS if k in os.environ}
        env.setdefault("DJANGO_SETTINGS_MODULE", "copsite.settings")
        start = [str(bindir / "gunicorn")]
        if options["gunicorn_config"]:
            start += ["--config", str(Path(options["gunicorn_config"]).resolve())]
        start += [
            "--workers",
            "2",
            "--worker-class",
            "sync",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            f"{module}:{attr}",
        ]
        versions = {}
        for dist in ("Django", "gunicorn", "psycopg2-binary", "Markdown", "nh3", "redis"):
            with contextlib.suppress(PackageNotFoundError):
                versions[dist] = version(dist)
        return {
            "name": "copsite",
            "base_url": f"http://127.0.0.1:{port}",
            "pages": pages,
            "cwd": str(Path(settings.BASE_DIR).resolve()),
            "env": env,
            "start": start,
            "querycount": [sys.executable, str(querycount)] if querycount.is_file() else None,
            "page_notes": {
                "index": "copsite community directory /c/ (5 communities)",
                "category": "community page: description, facilitators, thread list panel",
                "topic_page_size": settings.POSTS_PER_PAGE,
                "topic_list_page_size": settings.THREADS_PER_PAGE,
                "topic_last_page": last_page,
                "page_cache_seconds": getattr(settings, "PAGE_CACHE_SECONDS", None),
                "cache": settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1],
            },
            "seed": {
                "dataset": summary,
                "generate_s": round(generate_s, 2),
                "seed_s": round(seed_s, 2),
                "phases": {f"{k}_s": round(v, 2) for k, v in self.phases.items()},
                "method": "bulk_create for users/memberships/threads/posts; create_community for communities; "
                "core.markup.render once per distinct body; replies flat under the opening post; "
                "counters written with the rows, opening_post and community counters by one UPDATE each; "
                "search vectors by one UPDATE per table",
            },
            "counts": counts,
            "versions": versions,
        }
