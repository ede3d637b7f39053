"""Time the community health page for a 10,000-member community with a year of activity (PostgreSQL).

Seeds one community into an EMPTY scratch database: 10,000 members across the
four levels, 52 weekly level snapshots, a year of the ledger (visits and
contributions), ~4,000 threads (a quarter of them newcomers' first questions)
with ~16,000 replies, 400 resources with review-by dates, 52 hosted chats with
RSVPs and chat posts, and level moves. Then it requests the health page for
the last twelve months as the community's owner (in process, Django's test
client), counts its SQL queries once and reports the median of ``--requests``
timed requests. Exits non-zero if the median is over ``--budget-ms`` (300).

    createdb -h 127.0.0.1 -U postgres bench_health
    BENCH_TOOLS=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_health \
        python manage.py bench_health --migrate --yes-i-know
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts.models import User
from communities.models import Activity, Community, LevelSnapshot, Membership
from communities.participation import week_of
from discussions.models import Post, Thread, path_segment
from events.models import RSVP, Event
from insights.models import LevelChange
from resources.models import Resource

BATCH = 5000
LEVEL_WEIGHTS = {"core": 0.02, "active": 0.1, "peripheral": 0.38, "inactive": 0.5}


class Command(BaseCommand):
    help = "Seed a 10,000-member community with a year of activity and time its health page (fails over budget)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--members", type=int, default=10_000)
        parser.add_argument("--requests", type=int, default=15)
        parser.add_argument("--budget-ms", type=float, default=300.0)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--migrate", action="store_true", help="Migrate the (empty) database first.")
        parser.add_argument("--yes-i-know", action="store_true", dest="confirmed", help="Seed into this database.")
        parser.add_argument("--reuse", action="store_true", help="Time the community seeded by an earlier run.")

    def handle(self, *args, members: int, requests: int, budget_ms: float, seed: int, **options) -> None:
        if options["migrate"]:
            call_command("migrate", verbosity=0, interactive=False)
        self.rng = random.Random(seed)  # noqa: S311 - reproducible benchmark data, not secrets
        self.now = timezone.now()
        if options["reuse"]:
            community = Community.objects.get(slug="bench-health")
        else:
            self._refuse_unless_scratch(options["confirmed"])
            started = time.perf_counter()
            community = self.seed(members)
            self.stdout.write(f"Seeded {members} members in {time.perf_counter() - started:.0f} s.")
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("ANALYZE")
        owner = Membership.objects.filter(community=community, role=Membership.Role.OWNER).first()
        assert owner is not None
        client = Client()
        client.force_login(owner.user)
        host = next((h for h in settings.ALLOWED_HOSTS if h not in ("*", "") and not h.startswith(".")), "localhost")
        url = f"/c/{community.slug}/facilitate/health/"

        def get() -> None:
            response = client.get(url, HTTP_HOST=host, secure=True)
            if response.status_code != 200:
                raise CommandError(f"{url} answered {response.status_code}")

        get()
        get()  # warm: templates compiled, connection open
        queries: list[str] = []
        # Counted by a wrapper: the request's own reset_queries() would empty Django's query log.
        with connection.execute_wrapper(lambda execute, sql, *rest: (queries.append(sql), execute(sql, *rest))[1]):
            get()
        times = []
        for _ in range(requests):
            started = time.perf_counter()
            get()
            times.append((time.perf_counter() - started) * 1000)
        median = statistics.median(times)
        self.stdout.write(
            f"health page, {members} members, a year of activity: median {median:.0f} ms, "
            f"min {min(times):.0f} ms, max {max(times):.0f} ms over {requests} requests; "
            f"{len(queries)} queries ({connection.vendor})"
        )
        if median > budget_ms:
            raise CommandError(f"The health page took {median:.0f} ms (median), over the {budget_ms:.0f} ms budget.")

    def _refuse_unless_scratch(self, confirmed: bool) -> None:
        if not confirmed:
            raise CommandError(
                "This seeds 10,000 users into the database: point DATABASE_URL at a scratch one and pass --yes-i-know."
            )
        if User.objects.exists():
            raise CommandError("The database has users already: the benchmark needs an empty, migrated database.")

    def ago(self, max_days: float, min_days: float = 0) -> datetime:
        return self.now - timedelta(days=self.rng.uniform(min_days, max_days))

    def seed(self, n: int) -> Community:
        rng = self.rng
        users = User.objects.bulk_create(
            [
                User(
                    username=f"health{i}",
                    email=f"health{i}@example.org",
                    password="!bench-unusable",  # noqa: S106 - an unusable hash: nobody logs in
                    display_name=f"Health Member {i}",
                )
                for i in range(n)
            ],
            batch_size=BATCH,
        )
        community = Community.objects.create(
            name="Bench health",
            slug="bench-health",
            domain="Getting better at it.",
            created_by=users[0],
            member_count=n,
            last_activity_at=self.now,
        )
        levels = rng.choices(list(LEVEL_WEIGHTS), weights=list(LEVEL_WEIGHTS.values()), k=n)
        levels[0] = "core"
        Membership.objects.bulk_create(
            [
                Membership(
                    user=u,
                    community=community,
                    level=levels[i],
                    joined_at=self.ago(700, 0),
                    role=Membership.Role.OWNER if i == 0 else Membership.Role.FACILITATOR if i < 5 else "member",
                )
                for i, u in enumerate(users)
            ],
            batch_size=BATCH,
        )
        by_level: dict[str, list[User]] = {level: [] for level in LEVEL_WEIGHTS}
        for user, level in zip(users, levels, strict=True):
            by_level[level].append(user)
        engaged = by_level["core"] + by_level["active"]
        # A year of weekly snapshots.
        monday = week_of(self.now.date())
        LevelSnapshot.objects.bulk_create(
            LevelSnapshot(
                community=community,
                week=monday - timedelta(weeks=w),
                core=200 + w,
                active=1000 - 3 * w,
                peripheral=3800 + 5 * w,
                inactive=5000 - 3 * w,
            )
            for w in range(53)
        )
        # The ledger: visits (engaged members weekly, others now and then) and contributions.
        activity: list[Activity] = []
        today = self.now.date()
        for user, level in zip(users, levels, strict=True):
            visits = {"core": 120, "active": 50, "peripheral": 8, "inactive": 0}[level]
            days = {today - timedelta(days=rng.randrange(365)) for _ in range(visits)}
            activity.extend(Activity(community=community, user=user, kind="visit", day=d) for d in days)
            contributions = {"core": 20, "active": 4, "peripheral": rng.choice([0, 0, 1]), "inactive": 0}[level]
            activity.extend(
                Activity(community=community, user=user, kind="reply", day=today - timedelta(days=rng.randrange(365)))
                for _ in range(contributions)
            )
            if len(activity) > 50_000:
                Activity.objects.bulk_create(activity, batch_size=BATCH)
                activity = []
        Activity.objects.bulk_create(activity, batch_size=BATCH)
        # Threads: newcomers' first questions and regulars' discussions, each with replies.
        threads = []
        newcomers = rng.sample(by_level["peripheral"] + by_level["active"], k=min(1000, len(by_level["peripheral"])))
        for i, author in enumerate(newcomers):
            created = self.ago(365)
            threads.append(
                Thread(
                    community=community,
                    title=f"First question {i}",
                    kind="question",
                    author=author,
                    created_at=created,
                    last_activity_at=created,
                    last_poster=author,
                )
            )
        for i in range(3000):
            created = self.ago(365)
            author = rng.choice(engaged)
            threads.append(
                Thread(
                    community=community,
                    title=f"Notes {i}",
                    kind="discussion",
                    author=author,
                    created_at=created,
                    last_activity_at=created,
                    last_poster=author,
                )
            )
        threads = Thread.objects.bulk_create(threads, batch_size=BATCH)
        posts = [
            Post(
                thread=t,
                author_id=t.author_id,
                depth=0,
                path="",
                number=1,
                body="Opening",
                body_html="<p>Opening</p>",
                body_text="Opening",
                created_at=t.created_at,
            )
            for t in threads
        ]
        for t in threads:
            count = 0 if (t.kind == "question" and rng.random() < 0.15) else rng.randint(1, 7)
            for k in range(count):
                created = min(t.created_at + timedelta(hours=rng.uniform(0.2, 120) * (k + 1)), self.now)
                posts.append(
                    Post(
                        thread=t,
                        author=rng.choice(engaged),
                        depth=1,
                        path=path_segment(k + 1),
                        number=k + 2,
                        body="Reply",
                        body_html="<p>Reply</p>",
                        body_text="Reply",
                        created_at=created,
                    )
                )
            t.reply_count = count
            t.highest_post_number = count + 1
        Post.objects.bulk_create(posts, batch_size=BATCH)
        Thread.objects.bulk_update(threads, ["reply_count", "highest_post_number"], batch_size=BATCH)
        # The repertoire: a fifth past its review-by date.
        Resource.objects.bulk_create(
            [
                Resource(
                    community=community,
                    title=f"Guide {j}",
                    url=f"https://example.org/{j}",
                    added_by=users[j % 5],
                    review_by=today + timedelta(days=rng.randint(-60, 300)) if j % 2 else None,
                )
                for j in range(400)
            ],
            batch_size=BATCH,
        )
        # Weekly hosted chats with RSVPs and a chat thread each.
        chats = []
        for w in range(52):
            starts = self.now - timedelta(weeks=w, hours=2)
            chat_thread = Thread.objects.create(
                community=community, title=f"Chat {w}", kind="chat", author=users[0], created_at=starts
            )
            Post.objects.bulk_create(
                Post(
                    thread=chat_thread,
                    author=rng.choice(engaged),
                    depth=0 if k == 0 else 1,
                    path="" if k == 0 else path_segment(k),
                    number=k + 1,
                    body="Chat",
                    body_html="<p>Chat</p>",
                    body_text="Chat",
                    created_at=starts,
                )
                for k in range(30)
            )
            chats.append(
                Event(
                    community=community,
                    title=f"Chat {w}",
                    kind="chat",
                    starts_at=starts,
                    ends_at=starts + timedelta(hours=1),
                    uid=f"bench-health-{w}@bench.example",
                    thread=chat_thread,
                )
            )
        chats = Event.objects.bulk_create(chats)
        RSVP.objects.bulk_create(
            RSVP(event=e, user=u, answer=rng.choice(["going", "going", "maybe", "no"]))
            for e in chats
            for u in rng.sample(engaged, k=40)
        )
        LevelChange.objects.bulk_create(
            LevelChange(
                community=community,
                user=rng.choice(users),
                old_level=rng.choice(list(LEVEL_WEIGHTS)),
                new_level=rng.choice(list(LEVEL_WEIGHTS)),
                changed_at=self.ago(60),
            )
            for _ in range(2000)
        )
        return community
