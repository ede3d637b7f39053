"""Benchmark digest planning and building at scale (10,000 members). Not a test: it prints figures.

Seeds N members across communities into an EMPTY scratch database, then times
``digests.planning.plan(now)`` and ``digests.building.build(chunk, now)`` over
every chunk of ``planning.chunks`` (as the beat task fans them out), counting
the SQL queries of each. Emails are queued as OutboundEmail rows as usual but
never published to the broker (nothing is sent): the report counts the rows.
Several sizes (``--members 1000 --members 10000``) run one after the other,
the database emptied in between, and end with a table comparing them.

    createdb -h 127.0.0.1 -U postgres copsite_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/copsite_bench python manage.py bench_digests \
        --migrate --yes-i-know --members 1000 --members 10000
"""

from __future__ import annotations

import random
import resource as rusage
import statistics
import time
from collections import Counter
from datetime import datetime, timedelta
from unittest import mock

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from taggit.models import Tag, TaggedItem

from accounts.models import User
from communities.models import Cadence, Community, Membership
from core.models import OutboundEmail
from digests import building, planning
from discussions import tagnames
from discussions.models import Post, ReadState, Thread, path_segment
from events.models import Event
from notifications.models import Notification
from resources.models import Resource

# A Monday in the first week of the month: daily, weekly (Monday people) and monthly digests are all due.
DEFAULT_NOW = "2030-01-07T20:30:00+00:00"
ZONES = [
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Africa/Nairobi",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Asia/Kolkata",  # already Tuesday 02:00 at DEFAULT_NOW: only people whose hour has come are due
    "Australia/Sydney",
]
HOURS = [6, 7, 7, 8, 9, 12, 18]
CADENCES = ["", "", "", Cadence.DAILY, Cadence.DAILY, Cadence.WEEKLY, Cadence.MONTHLY, Cadence.OFF]
LEVELS = [level for level, _label in Membership.Level.choices]
TAGS = ["delirium", "sleep", "pain", "handover", "falls", "tapering", "nutrition", "mobility"]
BATCH = 2000


class Command(BaseCommand):
    # Wall-clock seconds include waiting for the database (and for the CPU on a busy machine); CPU seconds
    # are this process's own work (rendering, Python), the steadier figure to compare runs by.
    help = "Seed N members in an EMPTY scratch database and time digest planning and building (queries, seconds)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--members", type=int, action="append", help="Members to seed; repeat for several sizes (default 1000)."
        )
        parser.add_argument("--communities", type=int, default=20)
        parser.add_argument("--now", default=DEFAULT_NOW, help=f"The instant to plan for (default {DEFAULT_NOW}).")
        parser.add_argument("--seed", type=int, default=7, help="Random seed for the generated data.")
        parser.add_argument("--migrate", action="store_true", help="Migrate the (empty) database first.")
        parser.add_argument(
            "--yes-i-know",
            action="store_true",
            dest="confirmed",
            help="Confirm this database is a throwaway: the command writes thousands of rows to it.",
        )

    def handle(self, *args, members, communities: int, now: str, seed: int, confirmed: bool, migrate: bool, **options):
        sizes = members or [1000]
        if min(sizes) < 1 or communities < 1:
            raise CommandError("--members and --communities must be at least 1.")
        instant = datetime.fromisoformat(now)
        if instant.tzinfo is None:
            raise CommandError("--now needs a time zone, e.g. 2030-01-07T20:30:00+00:00.")
        if migrate:
            call_command("migrate", verbosity=0, interactive=False)
        self._refuse_unless_scratch(confirmed)
        results = []
        for i, size in enumerate(sizes):
            if i:
                # Checked empty above: everything in it is ours, from the size before.
                call_command("flush", verbosity=0, interactive=False)
            results.append(self._one_size(size, communities, instant, seed))
        self._summary(results)

    def _one_size(self, members: int, communities: int, instant: datetime, seed: int) -> dict:
        rng = random.Random(seed)  # noqa: S311 - reproducible test data, not security
        started = time.perf_counter()
        with transaction.atomic():
            seeded = Seeder(rng, instant).seed(members, communities)
        seed_seconds = time.perf_counter() - started
        self.stdout.write(
            f"seeded {seeded['members']} members, {seeded['memberships']} memberships, {seeded['threads']} threads, "
            f"{seeded['replies']} replies, {seeded['resources']} resources, {seeded['reads']} read marks, "
            f"{seeded['events']} events, {seeded['notifications']} notifications in {seed_seconds:.1f}s"
        )
        return {"members": members, "seed_seconds": seed_seconds, **self._measure(instant, members, communities)}

    def _summary(self, results: list[dict]) -> None:
        write = self.stdout.write
        write("")
        write("digests: plan + build, per size (wall seconds include waiting for the database and a busy CPU)")
        write(
            "| members | seeding s | planning s | building s (CPU s) | CPU ms per digest | queries (plan + build) "
            "| queries per 1k members | chunks | digests queued | peak RSS MB |"
        )
        write("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")  # peak RSS: the process's, seeding included
        for r in results:
            queries = r["plan_queries"] + r["build_queries"]
            per_digest = 1000 * r["build_cpu"] / r["queued"] if r["queued"] else 0
            write(
                f"| {r['members']} | {r['seed_seconds']:.1f} | {r['plan_seconds']:.2f} | "
                f"{r['build_seconds']:.2f} ({r['build_cpu']:.2f}) | {per_digest:.2f} | {queries} | "
                f"{1000 * queries / r['members']:.1f} | {r['chunks']} | {r['queued']} | {r['peak_mb']:.0f} |"
            )
        if len(results) > 1:
            small, large = results[0], results[-1]
            ratio = (large["plan_queries"] + large["build_queries"]) / (small["plan_queries"] + small["build_queries"])
            write(
                f"queries for {large['members']} members = {ratio:.2f} × those for {small['members']} "
                f"(goal: at most 2 ×); building CPU time × {large['build_cpu'] / small['build_cpu']:.1f}"
            )

    def _refuse_unless_scratch(self, confirmed: bool) -> None:
        where = self._where()
        advice = (
            "Point DATABASE_URL at a scratch database (e.g. createdb copsite_bench; "
            "DATABASE_URL=postgres://USER@HOST:5432/copsite_bench manage.py migrate), or for SQLite set "
            "COPSITE_VAR_DIR to an empty folder and migrate, then run this again with --yes-i-know."
        )
        if not settings.DEBUG:
            raise CommandError(f"Refusing to run with DEBUG off (production settings), on {where}. {advice}")
        if not confirmed:
            raise CommandError(
                f"This seeds thousands of users and digests into {where} and plans digests for EVERY user "
                f"in it. {advice}"
            )
        existing = User.objects.count()
        if existing:
            raise CommandError(
                f"{where} already has {existing} user(s): the benchmark needs an empty, freshly migrated "
                f"database (it would plan digests for those people too). {advice}"
            )

    def _where(self) -> str:
        conf = connection.settings_dict
        host = f" on {conf['HOST']}" if conf.get("HOST") else ""
        return f"the {connection.vendor} database {conf['NAME']}{host}"

    def _measure(self, instant: datetime, members: int, communities: int) -> dict:
        published = []
        # Rows are queued as in production; their "send now" message is not published.
        with mock.patch("core.mail._publish", published.append):
            with CaptureQueriesContext(connection) as planning_queries:
                started, cpu = time.perf_counter(), time.process_time()
                run_ids = planning.plan(instant)
                plan_seconds, plan_cpu = time.perf_counter() - started, time.process_time() - cpu

            chunks = planning.chunks(run_ids)
            totals: Counter = Counter()
            per_chunk: list[tuple[int, int, dict]] = []  # (queries, runs queued, query shapes)
            sql_seconds: Counter = Counter()  # database time by statement shape, all chunks
            build_seconds = build_cpu = 0.0
            for chunk in chunks:
                with CaptureQueriesContext(connection) as chunk_queries:
                    started, cpu = time.perf_counter(), time.process_time()
                    outcome = building.build(chunk, instant)
                    build_seconds += time.perf_counter() - started
                    build_cpu += time.process_time() - cpu
                totals.update(outcome)
                shapes = Counter(_shape(q["sql"]) for q in chunk_queries.captured_queries)
                for q in chunk_queries.captured_queries:
                    sql_seconds[_shape(q["sql"])] += float(q["time"])
                per_chunk.append((len(chunk_queries), outcome["queued"], shapes))

            # Run again, as a second beat tick would: nothing new may be planned, built or queued.
            emails_before = OutboundEmail.objects.count()
            again = planning.plan(instant + timedelta(minutes=15))
            again_outcome = building.build(again, instant + timedelta(minutes=15)) if again else {}
            emails_after = OutboundEmail.objects.count()

        queued_rows = OutboundEmail.objects.filter(kind="digest").count()
        peak_mb = rusage.getrusage(rusage.RUSAGE_SELF).ru_maxrss / 1024
        queries = [q for q, _n, _s in per_chunk]
        write = self.stdout.write
        write("")
        write(f"digest benchmark on {self._where()}, at {instant.isoformat()}")
        write(f"  members                 {members}")
        write(f"  communities             {communities}")
        write(f"  runs planned            {len(run_ids)}")
        write(
            f"  built                   {totals['queued']} queued, {totals['empty']} with nothing new, "
            f"{totals['skipped']} skipped"
        )
        write(f"  emails queued (rows)    {queued_rows} (publishing stubbed: {len(published)} not published)")
        write(f"  planning                {plan_seconds:.2f}s ({plan_cpu:.2f}s CPU), {len(planning_queries)} queries:")
        plan_shapes = Counter(_shape(q["sql"]) for q in planning_queries.captured_queries)
        write("    " + "; ".join(f"{count} × {shape}" for shape, count in plan_shapes.most_common()))
        write(
            f"  building                {build_seconds:.2f}s ({build_cpu:.2f}s CPU), {sum(queries)} queries "
            f"in {len(chunks)} chunk(s) of up to {max((len(c) for c in chunks), default=0)} "
            f"(DIGEST_BUILD_TASKS={settings.DIGEST_BUILD_TASKS}, DIGEST_CHUNK_SIZE={settings.DIGEST_CHUNK_SIZE}, "
            f"DIGEST_CHUNK_MAX={settings.DIGEST_CHUNK_MAX})"
        )
        if chunks:
            write(
                f"  queries per chunk       min {min(queries)}, median {statistics.median(queries):g}, "
                f"max {max(queries)}; per built run {sum(queries) / len(run_ids):.2f}"
            )
            write(f"  seconds per chunk       {build_seconds / len(chunks):.3f}")
            self._explain(per_chunk)
            write(f"  database time           {sum(sql_seconds.values()):.2f}s of the building, most in:")
            for shape, seconds in sql_seconds.most_common(4):
                write(f"    {seconds:7.2f}s  {shape}")
        write(
            f"  second pass             {len(again)} run(s) handed out, {dict(again_outcome) or 'nothing built'}, "
            f"{emails_after - emails_before} new email(s)"
        )
        write(f"  peak memory (RSS)       {peak_mb:.0f} MB")
        return {
            "plan_seconds": plan_seconds,
            "plan_queries": len(planning_queries),
            "build_seconds": build_seconds,
            "build_cpu": build_cpu,
            "build_queries": sum(queries),
            "chunks": len(chunks),
            "queued": totals["queued"],
            "peak_mb": peak_mb,
        }

    def _explain(self, per_chunk: list[tuple[int, int, dict]]) -> None:
        """Which statements repeat with the number of digests queued in a chunk (per-member queries)."""
        queries, queued, shapes = max(per_chunk, key=lambda c: c[0])
        write = self.stdout.write
        write(f"  busiest chunk           {queries} queries for {queued} queued digest(s):")
        for shape, count in shapes.most_common(6):
            per = " ← once per queued digest" if queued and count == queued else ""
            write(f"    {count:5d} × {shape}{per}")


def _shape(sql: str) -> str:
    """A statement's kind and table, for grouping: 'INSERT INTO "copsite_outboundemail"'."""
    words = sql.split()
    if not words:
        return "(empty)"
    verb = words[0].upper()
    if verb == "SELECT" and "FROM" in words:
        return f"SELECT … FROM {words[words.index('FROM') + 1]}"  # noqa: S608 - a label, not a query
    if verb in ("INSERT", "DELETE") and len(words) > 2:
        return f"{verb} {words[1]} {words[2]}"
    if verb == "UPDATE" and len(words) > 1:
        return f"UPDATE {words[1]}"
    return " ".join(words[:3])


class Seeder:
    """Bulk-creates a plausible population; a few queries per thousand rows."""

    def __init__(self, rng: random.Random, now: datetime):
        self.rng = rng
        self.now = now

    def ago(self, low_hours: float, high_hours: float) -> datetime:
        return self.now - timedelta(hours=self.rng.uniform(low_hours, high_hours))

    def seed(self, n_members: int, n_communities: int) -> dict[str, int]:
        rng = self.rng
        users = User.objects.bulk_create(
            [
                User(
                    username=f"bench{i}",
                    email=f"bench{i}@example.org",
                    password="!bench-unusable",  # noqa: S106 - an unusable hash: nobody logs in
                    display_name=f"Bench Member {i}",
                    time_zone=rng.choice(ZONES),
                    digest_hour=rng.choice(HOURS),
                    # Most keep Monday; some chose another day and are not due at a Monday instant.
                    digest_weekday=0 if rng.random() < 0.8 else rng.randint(1, 6),
                    email_paused=rng.random() < 0.02,
                    last_login=self.ago(200 * 24, 220 * 24) if rng.random() < 0.03 else self.ago(1, 30 * 24),
                )
                for i in range(n_members)
            ],
            batch_size=BATCH,
        )
        EmailAddress.objects.bulk_create(
            [
                EmailAddress(user=u, email=u.email, primary=True, verified=rng.random() >= 0.02)
                for u in users  # 2% never confirmed their address: no digest
            ],
            batch_size=BATCH,
        )
        communities = Community.objects.bulk_create(
            [
                Community(
                    name=f"Bench community {i}",
                    slug=f"bench-{i}",
                    domain=f"Getting better at practice number {i}, together.",
                    visibility=Community.Visibility.PRIVATE if i % 4 == 3 else Community.Visibility.OPEN,
                    join_policy=Community.JoinPolicy.INVITE if i % 4 == 3 else Community.JoinPolicy.OPEN,
                    default_cadence=Cadence.DAILY if i % 3 == 0 else Cadence.WEEKLY,
                    created_by=users[0],
                )
                for i in range(n_communities)
            ]
        )
        memberships = []
        members_of: dict[int, list[User]] = {c.pk: [] for c in communities}
        for user in users:
            for community in rng.sample(communities, k=min(len(communities), rng.choice([1, 1, 2, 2, 3]))):
                roll = rng.random()
                state = (
                    Membership.State.LEFT
                    if roll < 0.03
                    else Membership.State.PENDING
                    if roll < 0.05
                    else Membership.State.ACTIVE
                )
                memberships.append(
                    Membership(
                        user=user,
                        community=community,
                        state=state,
                        digest_cadence=rng.choice(CADENCES),
                        level=rng.choice(LEVELS),
                        # A few joined yesterday: their window starts when they joined.
                        joined_at=self.ago(2, 30) if rng.random() < 0.05 else self.ago(3 * 24, 400 * 24),
                        last_seen_on=(self.ago(1, 20 * 24)).date(),
                    )
                )
                if state == Membership.State.ACTIVE:
                    members_of[community.pk].append(user)
        Membership.objects.bulk_create(memberships, batch_size=BATCH)
        for community in communities:
            if not members_of[community.pk]:
                members_of[community.pk].append(users[0])
                Membership.objects.get_or_create(user=users[0], community=community)
            Membership.objects.filter(user=members_of[community.pk][0], community=community).update(
                role=Membership.Role.OWNER
            )
            community.member_count = len(members_of[community.pk])
        Community.objects.bulk_update(communities, ["member_count"])

        threads, replies, reads = self._discussions(communities, members_of)
        resources = self._resources(communities, members_of)
        events = self._events(communities)
        notifications = self._notifications(members_of)
        return {
            "members": len(users),
            "memberships": len(memberships),
            "threads": threads,
            "replies": replies,
            "resources": resources,
            "reads": reads,
            "events": events,
            "notifications": notifications,
        }

    def _discussions(self, communities: list[Community], members_of: dict[int, list[User]]) -> tuple[int, int, int]:
        rng = self.rng
        threads = []
        for community in communities:
            people = members_of[community.pk]
            for j in range(30):
                # Most are from the last week; questions from the last month, unanswered for a day or more.
                question = j % 5 == 0
                created = self.ago(26, 29 * 24) if question else self.ago(0.5, 8 * 24)
                kind = Thread.Kind.QUESTION if question else (Thread.Kind.STORY if j % 7 == 0 else "discussion")
                author = rng.choice(people)
                threads.append(
                    Thread(
                        community=community,
                        title=f"{'How do you' if question else 'Notes on'} {rng.choice(TAGS)} #{j}?",
                        kind=kind,
                        author=author,
                        created_at=created,
                        last_activity_at=created,
                        last_poster=author,
                    )
                )
        threads = Thread.objects.bulk_create(threads, batch_size=BATCH)
        openings = Post.objects.bulk_create(
            [
                Post(
                    thread=t,
                    author_id=t.author_id,
                    depth=0,
                    path="",
                    number=1,
                    body=f"About {t.title}",
                    body_html=f"<p>About {t.title}</p>",
                    body_text=f"About {t.title}",
                    created_at=t.created_at,
                    helpful_count=rng.randint(0, 6),
                )
                for t in threads
            ],
            batch_size=BATCH,
        )
        for thread, opening in zip(threads, openings, strict=True):
            thread.opening_post = opening
        replies = []
        for thread in threads:
            if thread.kind == Thread.Kind.QUESTION and rng.random() < 0.6:
                continue  # still unanswered: a question for the digest's "Can you help?"
            people = members_of[thread.community_id]
            count = rng.randint(0, 6)
            # In the order they were written: numbers (read tracking) follow it.
            times = sorted(
                min(thread.created_at + timedelta(hours=rng.uniform(0.2, 30)), self.now - timedelta(minutes=1))
                for _ in range(count)
            )
            for k, created in enumerate(times):
                replies.append(
                    Post(
                        thread=thread,
                        author=rng.choice(people),
                        parent_id=thread.opening_post.pk,
                        depth=1,
                        path=path_segment(k + 1),
                        number=k + 2,
                        body="A helpful reply.",
                        body_html="<p>A helpful reply.</p>",
                        body_text="A helpful reply.",
                        created_at=created,
                        helpful_count=rng.choice([0, 0, 1, 2, 5]),
                    )
                )
            thread.reply_count = count
            thread.highest_post_number = count + 1
            thread.opening_post.child_count = count
        Post.objects.bulk_create(replies, batch_size=BATCH)
        Thread.objects.bulk_update(threads, ["opening_post", "reply_count", "highest_post_number"], batch_size=BATCH)
        Post.objects.bulk_update(openings, ["child_count"], batch_size=BATCH)

        tags = {t.name: t for t in Tag.objects.bulk_create([Tag(name=n, slug=n) for n in TAGS])}
        thread_type = ContentType.objects.get_for_model(Thread)
        TaggedItem.objects.bulk_create(
            [
                TaggedItem(content_type=thread_type, object_id=t.pk, tag=tags[name])
                for t in threads
                for name in rng.sample(TAGS, k=rng.randint(0, 2))
            ],
            batch_size=BATCH,
        )
        tagnames.refresh(t.pk for t in threads)  # bulk_create sends no signals
        # Some members read some of their communities' threads.
        by_community: dict[int, list[Thread]] = {}
        for thread in threads:
            by_community.setdefault(thread.community_id, []).append(thread)
        seen: set[tuple[int, int]] = set()
        read_states = []
        for community_id, people in members_of.items():
            for person in people:
                for thread in rng.sample(by_community[community_id], k=rng.randint(0, 4)):
                    if (person.pk, thread.pk) not in seen:
                        seen.add((person.pk, thread.pk))
                        read_states.append(
                            ReadState(
                                user=person,
                                thread=thread,
                                last_read_post_number=thread.highest_post_number,
                                last_read_at=self.now,
                            )
                        )
        ReadState.objects.bulk_create(read_states, batch_size=BATCH)
        return len(threads), len(replies), len(read_states)

    def _resources(self, communities: list[Community], members_of: dict[int, list[User]]) -> int:
        rng = self.rng
        resources = []
        for community in communities:
            for j in range(8):
                created = self.ago(1, 10 * 24)
                resources.append(
                    Resource(
                        community=community,
                        title=f"Guide {j} for {community.name}",
                        url=f"https://example.org/guide/{community.pk}/{j}",
                        description="A useful guide.",
                        added_by=rng.choice(members_of[community.pk]),
                        created_at=created,
                        updated_at=created,
                        pin_position=j if j < 2 else None,
                        helpful_count=rng.randint(0, 9),
                    )
                )
        return len(Resource.objects.bulk_create(resources, batch_size=BATCH))

    def _events(self, communities: list[Community]) -> int:
        """Two calls coming up in each community, and a hosted chat that ended since yesterday ("missed the chat?")."""
        first_thread = dict(Thread.objects.order_by("-pk").values_list("community_id", "pk"))
        events = []
        for community in communities:
            for j in range(2):
                starts = self.now + timedelta(hours=self.rng.uniform(6, 6 * 24))
                events.append(
                    Event(
                        community=community,
                        title=f"Call {j} of {community.name}",
                        kind=Event.Kind.CALL,
                        starts_at=starts,
                        ends_at=starts + timedelta(hours=1),
                        uid=f"bench-call-{community.pk}-{j}@bench.example",
                    )
                )
            ended = self.ago(2, 20)
            events.append(
                Event(
                    community=community,
                    title=f"Ask us anything in {community.name}",
                    kind=Event.Kind.CHAT,
                    starts_at=ended - timedelta(hours=1),
                    ends_at=ended,
                    uid=f"bench-chat-{community.pk}@bench.example",
                    thread_id=first_thread.get(community.pk),
                )
            )
        return len(Event.objects.bulk_create(events, batch_size=BATCH))

    def _notifications(self, members_of: dict[int, list[User]]) -> int:
        """A third of the members have a reply to them left for the digest ("for you"): entries nobody shares."""
        rng = self.rng
        replies: dict[int, list[tuple[int, int]]] = {}
        for community_id, post_id, author_id in Post.objects.filter(depth__gt=0).values_list(
            "thread__community_id", "pk", "author_id"
        ):
            replies.setdefault(community_id, []).append((post_id, author_id))
        notes, seen = [], set()
        for community_id, people in members_of.items():
            for person in people:
                candidates = replies.get(community_id)
                if not candidates or person.pk in seen or rng.random() >= 1 / 3:
                    continue
                post_id, author_id = rng.choice(candidates)
                if author_id == person.pk:
                    continue
                seen.add(person.pk)
                notes.append(
                    Notification(
                        user=person,
                        kind=Notification.Kind.REPLY,
                        actor_id=author_id,
                        post_id=post_id,
                        created_at=self.ago(1, 20),
                        emailed_at=self.ago(0.5, 1),  # the notification sweep passed them on to the digest
                    )
                )
        return len(Notification.objects.bulk_create(notes, batch_size=BATCH))
