"""Digests scale by design: ten times the members costs about the same queries, not ten times them (issue 9).

`manage.py bench_digests` measures 1,000 and 10,000 members; this guards the same property in `make test`
with 20 and 200, through the benchmark's own seeder plus what it leaves out (events, chats, notifications).
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
from communities.models import Community, Membership
from copsite.models import OutboundEmail
from digests import building, planning
from digests.management.commands.bench_digests import Seeder
from discussions.models import Event, Notification, Post, Thread

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


def add_events_and_notifications(people: list[User]) -> None:
    """What the seeder leaves out: upcoming events, a chat that ended yesterday, a reply left for the digest."""
    for community in Community.objects.all():
        chat_thread = Thread.objects.filter(community=community).first()
        Event.objects.bulk_create(
            [
                Event(
                    community=community,
                    title=f"Rota clinic {i} in {community.name}",
                    kind=Event.Kind.CALL,
                    starts_at=MONDAY + timedelta(days=1 + i),
                    ends_at=MONDAY + timedelta(days=1 + i, hours=1),
                    uid=f"scaling-{community.pk}-{i}@test",
                )
                for i in range(2)
            ]
            + [
                Event(
                    community=community,
                    title=f"Ask the night team ({community.name})",
                    kind=Event.Kind.CHAT,
                    starts_at=MONDAY - timedelta(hours=5),
                    ends_at=MONDAY - timedelta(hours=4),
                    uid=f"scaling-chat-{community.pk}@test",
                    thread=chat_thread,
                )
            ]
        )
    notes = []
    for person in people:
        community_ids = Membership.objects.filter(user=person).values_list("community_id", flat=True)
        post = Post.objects.filter(thread__community_id__in=community_ids, depth__gt=0).exclude(author=person).first()
        if post is not None:
            notes.append(
                Notification(
                    user=person,
                    kind=Notification.Kind.REPLY,
                    actor=post.author,
                    post=post,
                    created_at=MONDAY - timedelta(hours=2),
                )
            )
    Notification.objects.bulk_create(notes)


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
    add_events_and_notifications(people)

    small_queries, small_digests = plan_and_build(MONDAY)
    large_queries, large_digests = plan_and_build(MONDAY + timedelta(hours=1))

    # Everyone due got a digest (each has at least their reply notification): the builds did the real work.
    assert (small_digests, large_digests) == (SMALL, LARGE)
    assert large_queries <= 2 * small_queries, (small_queries, large_queries)
    # And the per-person parts are there, in each person's own digest.
    mail = OutboundEmail.objects.get(to=people[SMALL + 5].email)
    assert "For you" in mail.body_text and "replied to you" in mail.body_html
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
