"""Thread.tag_names: the copy of taggit's rows that lists and thread pages show (discussions/tagnames.py)."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from taggit.models import Tag

from discussions import services
from discussions.models import Thread
from tests import factories


@pytest.fixture(autouse=True)
def no_page_cache(settings):
    settings.PAGE_CACHE_SECONDS = 0


def names_on_pages(client, thread: Thread) -> tuple[str, str]:
    return client.get(thread.community.get_absolute_url()).content.decode(), client.get(
        thread.get_absolute_url()
    ).content.decode()


def test_a_new_thread_carries_its_tags_sorted_and_both_pages_show_them(client, world):
    thread = services.start_thread(
        world.member, world.public, title="Night shifts", body="How do you cope?", tags=["sleep", "rota", "Burnout"]
    )
    thread.refresh_from_db()
    assert thread.tag_names == sorted(["sleep", "rota", "Burnout"])
    community_page, thread_page = names_on_pages(client, thread)
    for name in ("sleep", "rota", "Burnout"):
        assert f'href="?tag={name}"' in community_page
        assert f'?tag={name}">{name}</a>' in thread_page


def test_every_change_to_taggits_rows_reaches_the_copy(client, world):
    thread = services.start_thread(world.member, world.public, title="Handover", body="Notes", tags=["shift", "notes"])
    thread.tags.add("safety")
    thread.tags.remove("notes")
    thread.refresh_from_db()
    assert thread.tag_names == ["safety", "shift"]

    tag = Tag.objects.get(name="shift")
    tag.name = "shift-work"  # renamed in the admin
    tag.save()
    thread.refresh_from_db()
    assert thread.tag_names == ["safety", "shift-work"]
    community_page, thread_page = names_on_pages(client, thread)
    assert ">shift-work<" in community_page and ">shift-work<" in thread_page
    assert ">shift<" not in community_page

    Tag.objects.get(name="safety").delete()  # deleted in the admin: its rows go with it
    thread.refresh_from_db()
    assert thread.tag_names == ["shift-work"]
    thread.tags.clear()
    thread.refresh_from_db()
    assert thread.tag_names == []
    community_page, _ = names_on_pages(client, thread)
    assert "shift-work" not in community_page


def test_other_threads_and_resources_with_the_same_tag_are_untouched(world):

    first = services.start_thread(world.member, world.public, title="One", body="x", tags=["pain"])
    second = services.start_thread(world.member, world.public, title="Two", body="y", tags=["pain", "sleep"])
    factories.resource(world.member, world.public, kind="link", title="R", url="https://example.org/", tags=["pain"])
    second.tags.remove("pain")
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.tag_names == ["pain"] and second.tag_names == ["sleep"]


def test_the_migration_fills_the_copy_for_threads_tagged_before_it(world):
    thread = services.start_thread(world.member, world.public, title="Old", body="x", tags=["b", "a"])
    Thread.objects.filter(pk=thread.pk).update(tag_names=[])  # as the column was when added
    migration = importlib.import_module("discussions.migrations.0008_thread_tag_names")
    migration.copy_tag_names(apps, None)
    thread.refresh_from_db()
    assert thread.tag_names == ["a", "b"]
