"""Existing data migrates forward through the "one house" refactor.

The database is taken back to the schema before the refactor (events and
notifications still in discussions; a post's visibility as three timestamps),
filled with rows in every state through the historical models, and migrated
forward. The rows must come out as the current models read them: events and
notifications under their new apps with the same ids, each post in the one
state its timestamps meant.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("discussions", "0009_live_chat_arrival_index"), ("events", None), ("notifications", None)]


def migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection)


def leaves() -> list:
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


def test_posts_events_and_notifications_written_before_the_refactor_read_the_same_after():
    latest = leaves()
    # The models as the database is now: every applied migration, the refactor's undone.
    old = migrate(BEFORE)._create_project_state(with_applied_migrations=True).apps
    try:
        User = old.get_model("accounts", "User")
        Community = old.get_model("communities", "Community")
        Thread = old.get_model("discussions", "Thread")
        Post = old.get_model("discussions", "Post")
        Event = old.get_model("discussions", "Event")
        Notification = old.get_model("discussions", "Notification")
        now = timezone.now()
        person = User.objects.create(username="old", email="old@example.org")
        community = Community.objects.create(name="Old", slug="old", domain="Before the refactor.")
        thread = Thread.objects.create(community=community, title="Old thread", author=person)
        times = {
            "visible": {},
            "held": {"held_at": now, "hidden_at": now},
            "turned down": {"hidden_at": now - timedelta(hours=1)},
            "deleted": {"deleted_at": now - timedelta(days=2)},
            "hidden then deleted": {"hidden_at": now - timedelta(days=3), "deleted_at": now - timedelta(days=1)},
        }
        posts = {}
        for index, (name, fields) in enumerate(times.items()):
            posts[name] = Post.objects.create(
                thread=thread, author=person, depth=1, path=f"{index:06d}", body=name, body_html=name, **fields
            ).pk
        event = Event.objects.create(
            community=community, title="Old call", starts_at=now, ends_at=now + timedelta(hours=1), uid="old@x"
        )
        event.hosts.add(person)
        note = Notification.objects.create(user=person, kind="mention", actor=person, post_id=posts["visible"])
    finally:
        migrate(latest)

    from discussions.models import Post as NewPost
    from events.models import Event as NewEvent
    from notifications.models import Notification as NewNotification

    states = {name: NewPost.objects.get(pk=pk) for name, pk in posts.items()}
    assert {name: post.state for name, post in states.items()} == {
        "visible": "visible",
        "held": "held",
        "turned down": "hidden",
        "deleted": "deleted",
        "hidden then deleted": "deleted",
    }
    assert states["visible"].state_changed_at is None
    assert states["held"].state_changed_at == now
    assert states["hidden then deleted"].state_changed_at == now - timedelta(days=1)
    moved = NewEvent.objects.get(pk=event.pk)
    assert (moved.title, list(moved.hosts.values_list("username", flat=True))) == ("Old call", ["old"])
    assert NewNotification.objects.get(pk=note.pk).post_id == posts["visible"]
