"""Query-count guards for the pages the benchmark measures (bench/, make bench).

The four pages anonymous visitors read most (community directory, a
community's front page with its thread list, a long thread's first and last
page) and the long thread for a logged-in member cost a fixed number of SQL
queries: the same with a little data and with a lot, the same for the first
and the last page of a thread. Rendering is measured with the whole-page
cache off (a cache hit costs nothing and would hide a regression). Timings
stay in the benchmark; these tests fail when a page starts querying per row.
"""

from __future__ import annotations

import pytest
from django.conf import settings

from communities.models import Community
from discussions import services
from discussions.models import Post
from tests import factories

# Bounds: anonymous pages at most 8 queries, a member's thread page at most 12.
ANONYMOUS_MAX = 8
MEMBER_MAX = 12
# What the pages cost today, so that a new query on them is a decision, not an accident.
BUDGET = {
    "directory": 2,  # the count, the page of communities
    "community": 5,  # community, thread rows with their count, events, pinned cards, facilitators
    # The thread with its community, the page of posts, the page's value notes (one query for all of
    # them, through discussions.post_extras), and the resources the thread produced or discusses
    # (resources' post_extras marker: every page, so the first and the last cost the same).
    "thread_first": 4,
    "thread_last": 4,
}
# Session, user, the thread (with membership, read marker and watching level), the posts (with
# helpful marks and, through discussions.post_extras, the member's bookmarks; the page's value
# notes), the resources the thread produced or discusses (resources' marker), and the bell: a look
# for anything unread, then the count (this member has unread notifications).
MEMBER_BUDGET = 7


@pytest.fixture(autouse=True)
def no_page_cache(settings):
    settings.PAGE_CACHE_SECONDS = 0


def grow(world, conversation, *, communities: int, threads: int, replies: int) -> None:
    """More of everything the pages list: communities, tagged threads, and replies (some nested) in the thread."""
    from communities import services as community_services

    for i in range(communities):
        community_services.create_community(
            world.owner,
            name=f"Practice {i:02d}",
            slug=f"practice-{i:02d}",
            domain="More people getting better at something.",
            visibility=Community.Visibility.OPEN,
        )
    for i in range(threads):
        services.start_thread(
            world.member, world.public, title=f"Thread {i}", body=f"Body {i}", tags=[f"tag{i % 4}", "common"]
        )
    parent = conversation.answer
    for i in range(replies):
        # Every third reply answers the previous one: deeper than the indent limit, so replies say whom they answer.
        reply = services.reply(
            world.facilitator if i % 2 else world.owner,
            conversation.thread,
            f"Reply **{i}**",
            parent=parent if i % 3 == 0 else None,
        )
        if i % 3 == 0:
            parent = reply
    conversation.thread.refresh_from_db()


def pages(conversation) -> dict[str, str]:
    thread_url = conversation.thread.get_absolute_url()
    last = -(-(conversation.thread.reply_count + 1) // settings.POSTS_PER_PAGE)
    return {
        "directory": "/c/",
        "community": conversation.thread.community.get_absolute_url(),
        "thread_first": thread_url,
        "thread_last": f"{thread_url}?page={last}",
    }


def count_queries(client, url: str, django_assert_max_num_queries, bound: int) -> int:
    with django_assert_max_num_queries(bound) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


def test_anonymous_pages_cost_the_same_few_queries_with_little_and_much_data(
    client, world, conversation, django_assert_max_num_queries
):
    small = {
        name: count_queries(client, url, django_assert_max_num_queries, ANONYMOUS_MAX)
        for name, url in pages(conversation).items()
    }
    grow(world, conversation, communities=25, threads=30, replies=2 * settings.POSTS_PER_PAGE + 5)
    urls = pages(conversation)
    assert urls["thread_last"].endswith("?page=3")
    large = {name: count_queries(client, url, django_assert_max_num_queries, small[name]) for name, url in urls.items()}
    assert large == small
    assert large["thread_first"] == large["thread_last"]
    assert all(small[name] <= BUDGET[name] for name in BUDGET), small
    # The pages did list the growth: a full page of communities, threads with their tags, nested replies.
    assert client.get("/c/").content.decode().count('class="card community-card"') == 20
    community_page = client.get(urls["community"]).content.decode()
    assert "Thread 29" in community_page and 'href="?tag=common"' in community_page
    last = client.get(urls["thread_last"]).content.decode()
    assert last.count('class="post ') == conversation.thread.reply_count + 1 - 2 * settings.POSTS_PER_PAGE
    assert "replying to" in client.get(urls["thread_first"]).content.decode()


def test_member_reading_a_long_thread_costs_the_same_queries_on_first_and_last_page(
    client, world, conversation, django_assert_max_num_queries
):
    client.force_login(world.member)
    urls = pages(conversation)
    client.get(urls["thread_first"])  # the first visit moves the read marker
    small = count_queries(client, urls["thread_first"], django_assert_max_num_queries, MEMBER_MAX)
    assert small <= MEMBER_BUDGET

    grow(world, conversation, communities=0, threads=0, replies=2 * settings.POSTS_PER_PAGE + 5)
    # The first five others wrote, in page order: all on the first page.
    helpful = Post.objects.filter(thread=conversation.thread).exclude(author=world.member).order_by("path")[:5]
    for post in helpful:
        services.toggle_helpful(world.member, post)
    urls = pages(conversation)
    # New replies: the next view of each page writes the read position once, in one statement
    # (that page's posts, and only they, become read).
    with django_assert_max_num_queries(small + 1):
        first = client.get(urls["thread_first"])
    assert 'class="badge badge-new"' in first.content.decode()
    with django_assert_max_num_queries(small + 1):
        client.get(urls["thread_last"])
    # Read: every later view costs what the short thread did, first page and last.
    first_count = count_queries(client, urls["thread_first"], django_assert_max_num_queries, small)
    last_count = count_queries(client, urls["thread_last"], django_assert_max_num_queries, small)
    assert first_count == last_count == small
    page = client.get(urls["thread_first"]).content.decode()
    assert page.count('aria-pressed="true"') == 5
    assert page.count('name="body"') >= 1 and "Reply<span" in page


def shelve(world, count: int, *, pinned: int) -> None:
    """``count`` tagged link resources in the public community, the first ``pinned`` pinned, some discussed."""
    from resources import services as resource_services

    for i in range(count):
        resource = factories.resource(
            world.member,
            world.public,
            kind="link",
            title=f"Resource {i}",
            url=f"https://example.org/{i}",
            tags=[f"shelf{i % 3}"],
        )
        if i % 2:
            resource_services.start_discussion(world.member, resource)
        if i < pinned:
            resource_services.set_pin(world.facilitator, resource, "pin")


def test_resource_cards_cost_the_same_queries_for_one_and_many(client, world, django_assert_max_num_queries):
    """The community page's pinned cards and the library read only a card's columns, never one row at a time."""
    shelve(world, 2, pinned=1)
    urls = {"community": world.public.get_absolute_url(), "library": f"/c/{world.public.slug}/library/"}
    bound = ANONYMOUS_MAX
    small = {name: count_queries(client, url, django_assert_max_num_queries, bound) for name, url in urls.items()}
    shelve(world, 30, pinned=6)
    large = {name: count_queries(client, url, django_assert_max_num_queries, small[name]) for name, url in urls.items()}
    assert large == small
    library = client.get(urls["library"]).content.decode()
    assert library.count('class="card resource-card"') == 20 + 7 and "Added by Mira Member" in library
    assert 'href="/c/commons/library/?tag=shelf1"' in library and " · 0 replies" in library


# The member home: session, user, the summary, a tab's page with its counts and the
# answered questions, the events, and the bell's two. tests/test_home.py holds it at 20,000 and
# 200,000 posts, one community and fifty.
MEMBER_HOME_BUDGET = 8


def test_member_home_costs_the_same_queries_with_little_and_much_data(
    client, world, conversation, django_assert_max_num_queries
):
    # A member who has contributed nowhere yet is offered ways to start (discovery/starting.py): one
    # statement for all their newcomer communities. Mira is a newcomer in the approval community from
    # the start, so both measures include it: the home costs the same with one newcomer community or 26.
    factories.membership(world.member, world.approval)
    client.force_login(world.member)
    small = {
        tab: count_queries(client, f"/?tab={tab}", django_assert_max_num_queries, MEMBER_HOME_BUDGET)
        for tab in ("latest", "unread", "new")
    }
    grow(world, conversation, communities=25, threads=30, replies=10)
    for community in Community.objects.filter(slug__startswith="practice-"):
        factories.membership(world.member, community)
    large = {tab: count_queries(client, f"/?tab={tab}", django_assert_max_num_queries, small[tab]) for tab in small}
    assert large == small and max(small.values()) <= MEMBER_HOME_BUDGET
    assert client.get("/").content.decode().count('class="thread-row home-row') == settings.THREADS_PER_PAGE
