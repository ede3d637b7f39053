"""Digests scale by design: ten times the members costs about the same queries, not ten times them.

`manage.py bench_digests` measures 1,000 and 10,000 members; this guards the same property in `make test`
with 20 and 200, on the benchmark's own seeded data (threads, replies, questions, tags, read marks,
resources, events, a missed chat, notifications left for the digest).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from allauth.account.models import EmailAddress
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from bench.management.commands.bench_digests import Seeder
from communities.models import Membership
from core.models import OutboundEmail
from digests import building, planning
from notifications.models import Notification

pytestmark = pytest.mark.django_db
UTC = ZoneInfo("UTC")
MONDAY = datetime(2030, 1, 7, 7, 0, tzinfo=UTC)
SMALL, LARGE = 20, 200


def make_due(people: list[User], hour: int) -> None:
    """Daily digests at ``hour`` UTC, a confirmed address, recently seen: every one of them is due then."""
    ids = [p.pk for p in people]
    User.objects.filter(pk__in=ids).update(
        time_zone="UTC", digest_hour=hour, email_paused=False, last_login=MONDAY - timedelta(days=1)
    )
    EmailAddress.objects.filter(user_id__in=ids).update(verified=True)
    Membership.objects.filter(user_id__in=ids).update(state=Membership.State.ACTIVE, digest_cadence="daily")


def plan_and_build(now: datetime) -> tuple[int, int]:
    """The queries to plan and build every digest due at ``now``, and the digests queued."""
    before = OutboundEmail.objects.filter(kind="digest").count()
    with CaptureQueriesContext(connection) as queries:
        for chunk in planning.chunks(planning.plan(now)):
            building.build(chunk, now)
    return len(queries), OutboundEmail.objects.filter(kind="digest").count() - before


def test_ten_times_the_members_costs_at_most_twice_the_queries_to_plan_and_build_digests(settings):
    # Chunks of any size, so even the small group fills every build task, as 1,000 members do in production.
    settings.DIGEST_CHUNK_SIZE = 1
    settings.DIGEST_BUILD_TASKS = 4
    Seeder(random.Random(3), MONDAY).seed(SMALL + LARGE, 4)  # noqa: S311 - test data
    people = list(User.objects.order_by("pk"))
    make_due(people[:SMALL], hour=7)
    make_due(people[SMALL:], hour=8)

    small_queries, small_digests = plan_and_build(MONDAY)
    large_queries, large_digests = plan_and_build(MONDAY + timedelta(hours=1))

    # Everyone due got a digest (each community had a chat since yesterday): the builds did the real work.
    assert (small_digests, large_digests) == (SMALL, LARGE)
    assert large_queries <= 2 * small_queries, (small_queries, large_queries)
    # And the per-person parts are there, in each person's own digest.
    note = Notification.objects.filter(user__in=people[SMALL:]).select_related("user", "post__thread").first()
    mail = OutboundEmail.objects.get(to=note.user.email)
    assert f'replied to you in "{note.post.thread.title}"' in mail.body_text
    assert f"“{note.post.thread.title}”</a></p>" in mail.body_html.split("For you</h3>")[1]
    assert "Coming up" in mail.body_text and "Missed the chat?" in mail.body_html


def test_runs_are_built_in_a_bounded_number_of_bounded_chunks(settings):
    settings.DIGEST_BUILD_TASKS, settings.DIGEST_CHUNK_SIZE, settings.DIGEST_CHUNK_MAX = 8, 50, 2000
    few = list(range(30))
    assert planning.chunks(few) == [few]  # a few people: one task, not eight tiny ones
    ten_thousand = list(range(10_000))
    parts = planning.chunks(ten_thousand)
    assert len(parts) == 8 and [i for part in parts for i in part] == ten_thousand
    # A site far larger still: more tasks, none holding more than DIGEST_CHUNK_MAX runs in one transaction.
    parts = planning.chunks(list(range(100_000)))
    assert len(parts) == 50 and max(len(part) for part in parts) == 2000
