"""Pinned resources keep the facilitators' order everywhere: the library, its filters, the digests.

SQLite sorts NULL first unless told, PostgreSQL last; the last test runs this file again on SQLite.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from resources import queries, services
from tests import factories
from tests.sqlite import assert_passes_on_sqlite

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return response.content.decode()


def test_a_kind_or_tag_filter_keeps_matching_pinned_resources_first(client, world):
    tool = factories.resource(
        world.member, world.public, kind="tool", title="Pinned tool", description="x", tags=["sepsis"]
    )
    story = factories.resource(world.member, world.public, kind="story", title="Pinned story", description="x")
    factories.resource(world.member, world.public, kind="tool", title="Loose tool", description="x", tags=["sepsis"])
    services.set_pin(world.facilitator, story, "pin")
    services.set_pin(world.facilitator, tool, "pin")
    for query in ("?kind=tool", "?tag=sepsis", "?kind=tool&tag=sepsis&sort=helpful"):
        page = text(client.get("/c/commons/library/" + query))
        assert "Pinned tool" in page and "Loose tool" in page, query
        assert "Pinned story" not in page, query
        assert page.index("Pinned tool") < page.index("Loose tool"), query


def test_pinned_order_is_the_facilitators_order(world):
    made = [factories.resource(world.member, world.public, title=f"R{i}", description="x") for i in range(4)]
    for resource in (made[2], made[0], made[3]):
        services.set_pin(world.facilitator, resource, "pin")
    services.set_pin(world.facilitator, made[3], "up")
    expected = ["R2", "R3", "R0"]
    assert [r.title for r in queries.pinned_cards(world.public)] == expected
    listed = queries.library_cards(world.public, kind="howto", viewer=world.member)
    assert [r.title for r in listed][:3] == expected and [r.title for r in listed][3] == "R1"


def test_digests_take_pinned_resources_first(world):
    from digests.content import Pool

    now = timezone.now()
    made = [factories.resource(world.member, world.public, title=f"R{i}", description="x") for i in range(3)]
    services.set_pin(world.facilitator, made[1], "pin")
    pool = Pool.gather([world.public], now - timedelta(days=1), now + timedelta(minutes=1))
    assert pool.resources[0].title == "R1"


def test_the_community_page_lists_pinned_in_order(client, world):
    made = [factories.resource(world.member, world.public, title=f"Card {i}", description="x") for i in range(3)]
    for resource in (made[2], made[0]):
        services.set_pin(world.facilitator, resource, "pin")
    page = client.get("/c/commons/").content.decode()
    assert page.index("Card 2") < page.index("Card 0") and "Card 1" not in page.split("Start here")[1][:2000]


@pytest.mark.skipif(connection.vendor == "sqlite", reason="this run is on SQLite already")
@pytest.mark.timeout(900)  # a whole file again on SQLite: slower than the 300 s a single test gets
def test_the_pinned_order_holds_on_sqlite_too():
    assert_passes_on_sqlite(__file__)
