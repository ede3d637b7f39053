"""Sitemaps list what an anonymous visitor may read, nothing else, at a fixed cost in queries."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.contrib.sites.models import Site

from communities import services as community_services
from communities.models import Community
from discussions import services as discussion_services
from resources import services as resource_services
from tests import factories

pytestmark = pytest.mark.django_db

LOC_RE = re.compile(r"<loc>([^<]+)</loc>")


def locations(client, url: str) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200, url
    assert response["Content-Type"].startswith("application/xml")
    return [loc.removeprefix(settings.SITE_URL) for loc in LOC_RE.findall(response.content.decode())]


def listed(client) -> set[str]:
    """Every page location in every section the index names (and their further pages)."""
    found: set[str] = set()
    for section in locations(client, "/sitemap.xml"):
        found |= set(locations(client, section))
    return found


@pytest.fixture
def content(world):
    """Public and private threads and resources, and some that were hidden, deleted or removed."""
    thread = discussion_services.start_thread(world.member, world.public, title="Shown", body="Visible.")
    hidden = discussion_services.start_thread(world.member, world.public, title="Hidden", body="Spam.")
    discussion_services.hide_post(world.facilitator, hidden.opening_post, "Spam")
    deleted = discussion_services.start_thread(world.member, world.public, title="Deleted", body="Oops.")
    discussion_services.delete_post(world.member, deleted.opening_post)
    private = discussion_services.start_thread(world.member, world.private, title="Secret", body="Members only.")

    def resource(community, title):
        return factories.resource(world.member, community, kind="link", title=title, url="https://example.org/")

    shown, removed, private_resource = resource(world.public, "Kept"), resource(world.public, "Gone"), None
    resource_services.remove_resource(world.member, removed)
    private_resource = factories.resource(
        world.member, world.private, kind="file", title="Handout", file=("handout.txt", b"notes\n")
    )
    return {
        "shown": [thread.get_absolute_url(), shown.get_absolute_url()],
        "not shown": [
            hidden.get_absolute_url(),
            deleted.get_absolute_url(),
            private.get_absolute_url(),
            removed.get_absolute_url(),
            private_resource.get_absolute_url(),
        ],
    }


def test_sitemaps_list_public_communities_threads_and_resources(client, world, content):
    urls = listed(client)
    assert {"/c/commons/", "/c/guild/", *content["shown"]} <= urls
    for url in urls:
        assert client.get(url).status_code == 200, f"{url} is listed but an anonymous visitor can't read it"


def test_sitemaps_leave_out_private_hidden_deleted_and_removed_content(client, world, content):
    urls = listed(client)
    assert not {"/c/circle/", "/c/elsewhere/", *content["not shown"]} & urls
    assert not any("circle" in url or "elsewhere" in url for url in urls)


def test_logged_in_members_get_the_same_public_sitemap(client, world, content):
    anonymous = listed(client)
    client.force_login(world.member)
    assert listed(client) == anonymous


def test_a_community_turning_private_leaves_the_next_sitemap(
    client, world, content, django_capture_on_commit_callbacks
):
    assert "/c/commons/" in listed(client)  # now also in the cache
    with django_capture_on_commit_callbacks(execute=True):
        community_services.update_community(
            world.owner,
            world.public,
            visibility=Community.Visibility.PRIVATE,
            join_policy=Community.JoinPolicy.INVITE,
        )
    urls = listed(client)
    assert "/c/commons/" not in urls and not any(url.startswith("/c/commons/") for url in urls)


def test_sitemaps_are_cached_until_the_next_write_and_conditional(
    client, world, content, django_capture_on_commit_callbacks, django_assert_num_queries
):
    first = client.get("/sitemap-threads.xml")
    with django_assert_num_queries(0):
        assert client.get("/sitemap-threads.xml").content == first.content
    again = client.get("/sitemap-threads.xml", HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert again.status_code == 304
    with django_capture_on_commit_callbacks(execute=True):
        discussion_services.start_thread(world.member, world.public, title="Newer", body="Fresh.")
    fresh = client.get("/sitemap-threads.xml")
    assert fresh.content.count(b"<loc>") == first.content.count(b"<loc>") + 1


def test_unknown_sections_and_pages_are_404(client, world):
    assert client.get("/sitemap-circle.xml").status_code == 404
    assert client.get("/sitemap-threads.xml?p=9").status_code == 404


def test_robots_txt_names_the_sitemap(client):
    response = client.get("/robots.txt")
    assert response["Content-Type"].startswith("text/plain")
    assert f"Sitemap: {settings.SITE_URL}/sitemap.xml" in response.content.decode().splitlines()


SITEMAP_QUERIES = {"/sitemap.xml": 6, "/sitemap-communities.xml": 2, "/sitemap-threads.xml": 2}


@pytest.mark.parametrize("url", list(SITEMAP_QUERIES))
@pytest.mark.parametrize("n", [5, 50])
def test_sitemap_queries_do_not_grow_with_content(client, world, url, n, settings, django_assert_max_num_queries):
    settings.PAGE_CACHE_SECONDS = 0  # measure the rendering, not the cache
    for i in range(n):
        community_services.create_community(
            world.owner, name=f"Practice {i}", slug=f"practice-{i}", domain="Practice.", visibility="open"
        )
        discussion_services.start_thread(world.member, world.public, title=f"Thread {i}", body="Text.")
    Site.objects.get_current()  # Django's sitemap view asks the Sites framework once per process
    with django_assert_max_num_queries(SITEMAP_QUERIES[url]):
        response = client.get(url)
    assert response.status_code == 200
