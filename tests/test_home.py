"""The front page: a member's own home, a visitor's introduction, and My calendar.

A member sees Latest / Unread / New across the communities they belong to, with unread counts,
their questions that got answers, upcoming events in their time zone and, where they facilitate,
what waits for them. A visitor sees the introduction, then public communities and public
activity only. The member home costs at most eight queries with one community or fifty, twenty
thousand posts or two hundred thousand, and its lists use indexes at the big size.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, timedelta
from html import unescape

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.utils import timezone

from accounts.models import User
from communities import policy
from communities import services as community_services
from communities.models import Community, Membership, WatchLevel
from discussions import services
from discussions.models import Post, ReadState, Thread, ThreadWatch
from events import services as events
from events.models import CalendarToken
from notifications.models import Notification
from tests import factories

pytestmark = pytest.mark.django_db

BUDGET = 8  # the member home, whatever the number of communities and threads


@pytest.fixture(autouse=True)
def no_page_cache(settings):
    settings.PAGE_CACHE_SECONDS = 0


def text(response) -> str:
    """The page's main part as a person reads it: tags dropped, entities decoded, spaces collapsed."""
    page = response.content.decode()
    main = page.split("<main", 1)[-1].split("</main>", 1)[0]
    body = re.sub(r"<[^>]+>", " ", "<main" + main)
    return " ".join(unescape(body).split())


def rows(response) -> list[str]:
    """The titles of the thread list's rows, in order."""
    section = response.content.decode().split('id="home-threads"', 1)[1].split("</section>", 1)[0]
    return [unescape(t) for t in re.findall(r'<p class="thread-title">.*?<a href="[^"]+">([^<]+)</a>', section, re.S)]


def home(client, user, query: str = ""):
    client.force_login(user)
    response = client.get(f"/{query}")
    assert response.status_code == 200
    return response


def backdate(thread: Thread, **delta) -> None:
    when = timezone.now() - timedelta(**delta)
    Thread.objects.filter(pk=thread.pk).update(created_at=when, last_activity_at=when)
    Post.objects.filter(thread=thread).update(created_at=when)
    thread.refresh_from_db()


# --- Greeting --------------------------------------------------------------------------------


def test_a_brand_new_account_is_welcomed_not_welcomed_back(client, make_user):
    newcomer = make_user("nell", display_name="Nell Newcomer")
    page = text(home(client, newcomer))
    assert "Welcome to copsite, Nell Newcomer" in page
    assert "Welcome back" not in page
    # Without a community yet: where to find one, and no empty tabs.
    assert "You haven't joined a community yet" in page and "Browse communities" in page
    assert 'id="home-threads"' not in home(client, newcomer).content.decode()


def test_a_member_coming_back_is_welcomed_back(client, world):
    User.objects.filter(pk=world.member.pk).update(date_joined=timezone.now() - timedelta(days=30))
    page = text(home(client, world.member))
    assert "Welcome back, Mira Member" in page and "Welcome to copsite" not in page


# --- A visitor's home ------------------------------------------------------------------------


def test_a_visitor_gets_the_introduction_then_public_communities_and_activity_only(client, world, conversation):
    factories.thread(world.member, world.public, title="Glimmer held thread", suspected_spam=True)
    factories.thread(world.other_facilitator, world.elsewhere, title="Elsewhere secret plans")
    response = client.get("/")
    page = text(response)
    assert response.status_code == 200
    assert page.index("Get better at your practice") < page.index("Communities") < page.index("Recent conversations")
    assert "Ward Commons" in page and "Rehab Guild" in page
    assert "How do you assess pain in delirium?" in page
    # Canaries: nothing private, nothing held for review.
    for secret in ("Zebra", "Quince", "Xylophone", "Yak canary case", "Elsewhere", "Glimmer held thread", "/c/circle/"):
        assert secret not in response.content.decode(), secret
    assert "Welcome back" not in page and "Log in" in page


def test_a_visitors_home_is_cached_until_a_public_write(
    client, world, conversation, settings, django_capture_on_commit_callbacks
):
    settings.PAGE_CACHE_SECONDS = 300
    assert client.get("/")["X-Page-Cache"] == "miss"
    assert client.get("/")["X-Page-Cache"] == "hit"
    with django_capture_on_commit_callbacks(execute=True):
        factories.thread(world.member, world.public, title="Fresh public question")
    again = client.get("/")
    assert again["X-Page-Cache"] == "miss" and "Fresh public question" in again.content.decode()


def test_a_visitors_home_costs_the_same_few_queries_with_more_data(
    client, world, conversation, django_assert_max_num_queries
):
    with django_assert_max_num_queries(2) as small:
        client.get("/")
    for i in range(15):
        factories.thread(world.owner, world.public, title=f"Public {i}", replies=1, by=world.facilitator)
    with django_assert_max_num_queries(len(small)):
        page = client.get("/").content.decode()
    assert page.count('class="thread-row home-row"') == 10


# --- Latest / Unread / New -------------------------------------------------------------------


def test_latest_lists_the_members_communities_by_last_activity(client, world, conversation, make_user):
    nina = make_user("nina", display_name="Nina Newcomer")
    factories.membership(nina, world.public)
    guild = factories.thread(world.owner, world.approval, title="Guild thread Mira is not in")
    elsewhere = factories.thread(world.other_facilitator, world.elsewhere, title="Elsewhere thread")
    others_held = factories.thread(nina, world.public, title="Nina held thread", suspected_spam=True)
    own_held = factories.thread(world.member, world.public, title="Mira held thread", suspected_spam=True)
    services.reply(world.facilitator, conversation.private_thread, "Fresh news in the circle")
    listed = rows(home(client, world.member))
    assert listed[0] == "Yak canary case"  # the latest activity first, private communities included
    assert {"How do you assess pain in delirium?", "Mira held thread"} <= set(listed)
    assert not {guild.title, elsewhere.title, others_held.title} & set(listed)
    page = home(client, world.member).content.decode()
    assert "Zebra Quince Circle" in page and "Waiting for review" in page
    # A facilitator sees every thread held in the communities they facilitate.
    assert {own_held.title, others_held.title} <= set(rows(home(client, world.facilitator)))


def test_unread_shows_threads_read_before_others_replied_with_their_counts(client, world, conversation):
    thread = conversation.thread
    services.mark_read(world.member, thread)
    first = services.reply(world.facilitator, thread, "One more idea")
    services.reply(world.owner, thread, "And another")
    services.reply(world.member, thread, "Thanks both")  # the member's own reply is not news to them
    response = home(client, world.member, "?tab=unread")
    assert rows(response) == [thread.title]
    page = text(response)
    assert "2 unread in How do you assess pain in delirium?" in page and "Unread 1 thread" in page
    # A reply hidden by a facilitator is no longer news.
    services.hide_post(world.facilitator, first, "Off topic")
    assert "1 unread in How do you assess pain in delirium?" in text(home(client, world.member, "?tab=unread"))
    # Reading the thread clears it.
    client.get(thread.get_absolute_url())
    assert rows(home(client, world.member, "?tab=unread")) == []
    assert "You're all caught up" in text(home(client, world.member, "?tab=unread"))


def test_new_shows_threads_begun_since_joining_that_the_member_never_opened(client, world, conversation):
    fresh = factories.thread(world.facilitator, world.public, title="Fresh from Fern")
    old = factories.thread(world.facilitator, world.public, title="Old from Fern")
    backdate(old, days=20)
    before_joining = factories.thread(world.facilitator, world.private, title="Before Mira joined")
    backdate(before_joining, days=3)
    Membership.objects.filter(user=world.member, community=world.private).update(
        joined_at=timezone.now() - timedelta(days=1)
    )
    listed = rows(home(client, world.member, "?tab=new"))
    assert "Fresh from Fern" in listed
    assert not {"Old from Fern", "Before Mira joined", "Yak canary case"} & set(listed)  # too old, before, her own
    assert f"New {len(listed)} thread" in text(home(client, world.member))
    latest = home(client, world.member).content.decode()
    assert re.search(r"Fresh from Fern</a>\s*(<span[^>]*>[^<]*</span>\s*)*<span class=\"badge badge-new\">New", latest)
    client.get(fresh.get_absolute_url())  # opened: no longer new
    assert "Fresh from Fern" not in rows(home(client, world.member, "?tab=new"))


def test_tabs_are_links_that_work_without_javascript_and_swap_in_place_with_htmx(client, world, conversation):
    page = home(client, world.member, "?tab=new").content.decode()
    assert '<a href="?tab=new" aria-current="page">' in page and 'href="?tab=unread"' in page
    assert '<nav aria-label="Conversations" class="home-tabs" hx-boost="true">' in page
    assert 'hx-target="#home-threads"' in page
    client.force_login(world.member)
    fragment = client.get("/?tab=unread", HTTP_HX_REQUEST="true")
    body = fragment.content.decode()
    assert body.lstrip().startswith('<section id="home-threads"') and "<html" not in body
    assert '<a href="?tab=unread" aria-current="page">' in body
    assert "HX-Request" in fragment["Vary"]
    # The browser's back button after a swap asks for the whole page again.
    restored = client.get("/?tab=unread", HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" in restored.content.decode()


def test_a_tab_is_paginated_and_odd_page_numbers_land_on_a_real_page(client, world, conversation, settings):
    settings.THREADS_PER_PAGE = 5
    for i in range(9):
        factories.thread(world.owner, world.public, title=f"Paged {i}")
    first = home(client, world.member)
    assert len(rows(first)) == 5 and 'href="?tab=latest&amp;page=2"' in first.content.decode()
    assert "Page 1 of 3" in text(first)
    last = home(client, world.member, "?page=3")
    assert len(rows(last)) == 1 and 'rel="prev"' in last.content.decode()  # 9 + Mira's two threads = 11
    assert rows(home(client, world.member, "?page=99")) == rows(last)
    for odd in ("0", "-4", "x", "9" * 40, "1.5"):
        assert rows(home(client, world.member, f"?page={odd}")) in (rows(first), rows(last))


@pytest.mark.parametrize(
    "query",
    ["?tab=<script>alert(1)</script>", "?tab=unread%22%3E%3Cimg", "?tab=", "?tab=LATEST&page=2", "?tab[]=new"],
)
def test_a_hostile_tab_falls_back_to_latest_and_is_never_echoed(client, world, conversation, query):
    response = home(client, world.member, query)
    page = response.content.decode()
    assert '<a href="?tab=latest" aria-current="page">' in page
    assert "<script>alert" not in page and "<img" not in page


# --- Answered questions, events, what waits for facilitators -------------------------------------


def test_the_members_questions_that_got_answers(client, world, conversation):
    thread = conversation.thread  # Mira's question, answered by Fern and Olive; she has read her opening post
    page = home(client, world.member).content.decode()
    section = page.split('id="questions-heading"', 1)[1].split("</section>", 1)[0]
    assert thread.title in section and "2 new replies" in section
    assert f'href="/c/commons/t/{thread.pk}/unread/"' in section  # straight to the first reply not read
    services.accept_answer(world.member, thread, conversation.answer)
    services.mark_read(world.member, Thread.objects.get(pk=thread.pk))
    section = home(client, world.member).content.decode().split('id="questions-heading"', 1)[1]
    assert (
        "Answer accepted" in section.split("</section>", 1)[0] and "new repl" not in section.split("</section>", 1)[0]
    )
    assert f'href="/p/{conversation.answer.pk}/"' in section
    # A month later it is no longer news.
    Thread.objects.filter(pk=thread.pk).update(last_activity_at=timezone.now() - timedelta(days=40))
    assert 'id="questions-heading"' not in home(client, world.member).content.decode()


def test_upcoming_events_of_the_members_communities_in_their_time_zone(client, world):
    User.objects.filter(pk=world.member.pk).update(time_zone="Asia/Tokyo")
    starts = (timezone.now() + timedelta(days=3)).replace(hour=1, minute=30, second=0, microsecond=0, tzinfo=UTC)
    chat = factories.event(world.owner, world.public, title="Night shift chat", starts=starts)
    events.rsvp(world.member, chat, "going")
    factories.event(world.other_facilitator, world.elsewhere, title="Elsewhere meetup")
    cancelled = factories.event(world.owner, world.private, title="Called off call", kind="call")
    events.cancel_event(world.owner, cancelled)
    page = home(client, world.member)
    section = text(page).split("Coming up", 1)[1].split("Your communities", 1)[0]
    local = starts.astimezone(zoneinfo.ZoneInfo("Asia/Tokyo"))
    assert "Night shift chat" in section and local.strftime("%H:%M") == "10:30" and "10:30" in section
    assert "You said: Going" in section and "Times in Asia/Tokyo" in section
    assert "Elsewhere meetup" not in section and "Called off call" not in section


def test_a_facilitator_sees_what_waits_for_them_with_counts_and_links_to_the_queues(client, world, conversation):
    services.flag_post(world.member, conversation.answer, "Not kind")
    services.flag_post(world.owner, conversation.answer, "Rude")  # two flags, one post
    factories.thread(world.member, world.public, title="Held for review", suspected_spam=True)
    page = home(client, world.facilitator).content.decode()
    section = page.split('id="waiting-heading"', 1)[1].split("</section>", 1)[0]
    assert '<a href="/c/commons/facilitate/#requests-heading">1 join request</a>' in section
    assert '<a href="/c/commons/facilitate/#flags-heading">1 flagged post</a>' in section
    assert '<a href="/c/commons/facilitate/#held-heading">1 post held for review</a>' in section
    assert '<a href="/c/circle/facilitate/#requests-heading">1 join request</a>' in section
    assert "circle/facilitate/#flags" not in section
    # A member who facilitates nothing has nothing waiting.
    assert 'id="waiting-heading"' not in home(client, world.member).content.decode()


# --- Watching levels ---------------------------------------------------------------------------


def test_what_the_member_muted_never_shows_in_the_lists_or_counts(client, world, conversation):
    services.mark_read(world.member, conversation.thread)
    services.mark_read(world.member, conversation.private_thread)
    services.reply(world.facilitator, conversation.private_thread, "News in the circle")
    assert "Yak canary case" in rows(home(client, world.member, "?tab=unread"))
    # A muted community takes its threads out of every list and count, her own tracked one too.
    community_services.set_watch_level(world.member, world.private, WatchLevel.MUTED)
    assert "Yak canary case" not in rows(home(client, world.member))
    unread = home(client, world.member, "?tab=unread")
    assert rows(unread) == [] and "Unread 1" not in text(unread)
    # A level chosen by hand on a thread wins over its community's.
    services.set_thread_level(world.member, conversation.private_thread, WatchLevel.TRACKING)
    assert "1 unread in Yak canary case" in text(home(client, world.member, "?tab=unread"))
    # A thread muted by hand: out of the lists and of her answered questions.
    services.set_thread_level(world.member, conversation.thread, WatchLevel.MUTED)
    page = home(client, world.member)
    assert "Yak canary case" in rows(page) and conversation.thread.title not in rows(page)
    assert 'id="questions-heading"' not in page.content.decode()


def test_only_threads_the_member_tracks_or_watches_show_unread_counts_as_in_the_community_list(
    client, world, conversation
):
    normal = factories.thread(world.owner, world.public, title="Read, normal")
    tracked = factories.thread(world.owner, world.public, title="Read, tracked")
    services.set_thread_level(world.member, tracked, WatchLevel.TRACKING)
    factories.thread(world.owner, world.public, title="Never opened")
    services.mark_read(world.member, conversation.thread)
    for thread in (normal, tracked):
        services.mark_read(world.member, thread)
        services.reply(world.facilitator, thread, "Something new")
    page = text(home(client, world.member))
    assert "1 unread in Read, tracked" in page and "unread in Read, normal" not in page
    assert re.search(r"Never opened .{0,200}New", page)
    assert rows(home(client, world.member, "?tab=unread")) == ["Read, tracked"]
    listed = text(client.get("/c/commons/"))
    assert "1 new post in Read, tracked" in listed and "in Read, normal" not in listed and "Read, normal" in listed
    # Tracking the whole community counts the normal thread too.
    community_services.set_watch_level(world.member, world.public, WatchLevel.TRACKING)
    assert set(rows(home(client, world.member, "?tab=unread"))) == {"Read, tracked", "Read, normal"}


# --- My calendar -----------------------------------------------------------------------------------


def test_my_calendar_lists_events_by_day_in_the_members_zone_with_their_answer(client, world):
    User.objects.filter(pk=world.member.pk).update(time_zone="America/New_York")
    day = (timezone.now() + timedelta(days=5)).replace(hour=2, minute=0, second=0, microsecond=0, tzinfo=UTC)
    late = factories.event(world.owner, world.public, title="Late chat", starts=day)  # the evening before in New York
    factories.event(world.owner, world.private, title="Circle call", kind="call", starts=day + timedelta(hours=14))
    events.rsvp(world.member, late, "maybe")
    off = factories.event(world.owner, world.public, title="Cancelled meetup", starts=day + timedelta(days=1))
    events.cancel_event(world.owner, off)
    factories.event(world.other_facilitator, world.elsewhere, title="Elsewhere chat")
    client.force_login(world.member)
    response = client.get("/calendar/")
    page = text(response)
    new_york = zoneinfo.ZoneInfo("America/New_York")
    first_day = day.astimezone(new_york).strftime("%A %-d %B %Y")
    second_day = (day + timedelta(hours=14)).astimezone(new_york).strftime("%A %-d %B %Y")
    assert first_day != second_day
    assert page.index(first_day) < page.index("Late chat") < page.index(second_day) < page.index("Circle call")
    assert "You said: Maybe" in page and "Times in America/New_York" in page
    assert "Cancelled meetup Cancelled" in page and "Elsewhere chat" not in page
    assert "Get a private iCal address" in page
    token = CalendarToken.objects.create(user=world.member, token="tok-123")
    assert f'href="/calendar/{token.token}.ics"' in client.get("/calendar/").content.decode()


def test_my_calendar_is_for_members_and_costs_the_same_with_more_events(client, world, django_assert_max_num_queries):
    assert client.get("/calendar/")["Location"].startswith("/accounts/login/")
    client.force_login(world.member)
    factories.event(world.owner, world.public, title="One")
    with django_assert_max_num_queries(8) as few:
        client.get("/calendar/")
    for i in range(12):
        factories.event(world.owner, world.private, title=f"Event {i}", starts=timedelta(days=i + 1))
    with django_assert_max_num_queries(len(few)):
        page = client.get("/calendar/").content.decode()
    assert page.count('class="event-row') == 13


# --- Query budget and indexes at two sizes ----------------------------------------------------------


def seed_bulk(member: User, author: User, *, communities: int, threads: int, posts_per_thread: int) -> None:
    """``communities`` (a third private) the member belongs to, ``threads`` across them with ``posts_per_thread`` posts.

    Written with generate_series on PostgreSQL (seconds for 200,000 posts). The member started
    one thread in 97 (questions, tracked), read one in 25 and replied there (tracked; a fifth of
    those with posts since), muted a few threads by hand, and with more than one community tracks
    the first and muted the last; ``author`` read everything, so the read positions look like a
    forum's.
    """
    long_ago = timezone.now() - timedelta(days=400)
    made = Community.objects.bulk_create(
        [
            Community(
                name=f"Bulk {i:02d}",
                slug=f"bulk-{i:02d}",
                domain="Bulk practice.",
                visibility=Community.Visibility.PRIVATE if i % 3 == 2 else Community.Visibility.OPEN,
                join_policy=Community.JoinPolicy.INVITE,
            )
            for i in range(communities)
        ]
    )
    levels = {0: WatchLevel.TRACKING, communities - 1: WatchLevel.MUTED} if communities > 1 else {}
    Membership.objects.bulk_create(
        [
            Membership(user=member, community=c, joined_at=long_ago, watch_level=levels.get(i, ""))
            for i, c in enumerate(made)
        ]
    )
    t, p, rs = Thread._meta.db_table, Post._meta.db_table, ReadState._meta.db_table
    tw = ThreadWatch._meta.db_table
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {t} (community_id, title, kind, author_id, created_at, pinned, reply_count,"  # noqa: S608
            " last_activity_at, last_poster_id, tag_names, highest_post_number)"
            " SELECT c.ids[1 + g %% %s], 'Bulk thread ' || g,"
            " CASE WHEN g %% 97 = 0 THEN 'question' ELSE 'discussion' END,"
            " CASE WHEN g %% 97 = 0 THEN %s ELSE %s END, now() - g * interval '13 minutes', false, %s,"
            " now() - g * interval '13 minutes' + (%s - 1) * interval '1 second', %s, '[]', %s"
            " FROM generate_series(1, %s) g,"
            " (SELECT array_agg(id ORDER BY id) ids FROM communities_community WHERE slug LIKE 'bulk-%%') c",
            [
                communities,
                member.pk,
                author.pk,
                posts_per_thread - 1,
                posts_per_thread,
                author.pk,
                posts_per_thread,
                threads,
            ],
        )
        cur.execute(
            f"INSERT INTO {p} (thread_id, author_id, depth, path, number, child_count, body, body_html, body_text,"  # noqa: S608
            " render_version, created_at, edit_count, helpful_count, state, hidden_reason, submission_key)"
            " SELECT t.id, CASE WHEN k = 0 THEN t.author_id ELSE %s END, CASE WHEN k = 0 THEN 0 ELSE 1 END,"
            " CASE WHEN k = 0 THEN '' ELSE lpad(k::text, 6, '0') END, k + 1, 0, 'Body', '<p>Body</p>', 'Body', 1,"
            f" t.created_at + k * interval '1 second', 0, 0, 'visible', '', '' FROM {t} t, generate_series(0, %s - 1) k"
            " WHERE t.title LIKE 'Bulk thread %%'",
            [author.pk, posts_per_thread],
        )
        cur.execute(
            f"INSERT INTO {rs} (user_id, thread_id, last_read_post_number, read_beyond, last_read_at)"  # noqa: S608
            " SELECT %s, t.id, CASE WHEN t.id %% 125 = 0 THEN %s / 2 ELSE %s END, '[]', t.last_activity_at"
            f" FROM {t} t WHERE t.title LIKE 'Bulk thread %%' AND t.id %% 25 = 0",
            [member.pk, posts_per_thread, posts_per_thread],
        )
        cur.execute(
            f"INSERT INTO {rs} (user_id, thread_id, last_read_post_number, read_beyond, last_read_at)"  # noqa: S608
            f" SELECT %s, t.id, %s, '[]', t.last_activity_at FROM {t} t WHERE t.title LIKE 'Bulk thread %%'",
            [author.pk, posts_per_thread],
        )
        cur.execute(
            f"INSERT INTO {tw} (user_id, thread_id, level, reason, updated_at)"  # noqa: S608
            " SELECT %s, t.id, CASE WHEN t.id %% 1000 = 500 THEN 'muted' ELSE 'tracking' END,"
            " CASE WHEN t.id %% 1000 = 500 THEN 'by_hand' WHEN t.author_id = %s THEN 'created' ELSE 'replied' END,"
            f" now() FROM {t} t WHERE t.title LIKE 'Bulk thread %%'"
            " AND (t.author_id = %s OR t.id %% 25 = 0 OR t.id %% 1000 = 500)",
            [member.pk, member.pk, member.pk],
        )
        for table in (t, p, rs, tw, Membership._meta.db_table, Community._meta.db_table):
            cur.execute(f"ANALYZE {table}")


SIZES = {"small": (1, 2_000, 10), "big": (50, 20_000, 10)}  # communities, threads, posts each: 20 k and 200 k posts


@pytest.mark.skipif(connection.vendor != "postgresql", reason="seeds with generate_series; EXPLAIN is PostgreSQL's")
@pytest.mark.parametrize("size", SIZES)
def test_the_member_home_costs_at_most_eight_queries_and_its_lists_use_indexes(
    client, world, conversation, size, django_assert_max_num_queries
):
    communities, threads, posts = SIZES[size]
    seed_bulk(world.member, world.facilitator, communities=communities, threads=threads, posts_per_thread=posts)
    assert Post.objects.count() >= threads * posts
    assert Notification.objects.filter(user=world.member, read_at__isnull=True).exists()  # the bell asks twice
    client.force_login(world.member)
    plans = {}
    for tab in ("latest", "unread", "new"):
        client.get(f"/?tab={tab}")
        with django_assert_max_num_queries(BUDGET) as captured:
            response = client.get(f"/?tab={tab}")
        assert response.status_code == 200 and rows(response), tab
        for query in captured.captured_queries:
            # The home's own statements are prepared once per connection (core.db.fetch_prepared): EXPLAIN EXECUTE.
            prepared = query["sql"].startswith("EXECUTE copsite_")
            if prepared or (query["sql"].startswith("SELECT") and "discussions_" in query["sql"]):
                with connection.cursor() as cur:
                    cur.execute("EXPLAIN " + query["sql"])
                    plan = "\n".join(r[0] for r in cur.fetchall())
                assert "Seq Scan on discussions_post" not in plan, (tab, query["sql"][:200], plan)
                plans.setdefault(tab, []).append(plan)
        print(f"{size} {tab}: {len(captured)} queries")
    # The page of Latest and New walks thread_activity_idx; Unread starts from the member's markers.
    assert any("thread_activity_idx" in plan for plan in plans["latest"])
    assert any("thread_activity_idx" in plan for plan in plans["new"])
    assert any("readstate" in plan and "Index" in plan for plan in plans["unread"])


def test_the_member_home_costs_the_same_for_a_facilitator_and_without_communities(
    client, world, conversation, make_user, django_assert_max_num_queries
):
    services.flag_post(world.member, conversation.answer, "Not kind")
    for user in (world.facilitator, world.owner, world.admin, make_user("nobody")):
        client.force_login(user)
        for tab in ("latest", "unread", "new"):
            with django_assert_max_num_queries(BUDGET):
                assert client.get(f"/?tab={tab}").status_code == 200


# --- The policy's list for the member home ------------------------------------------------------


@pytest.mark.parametrize("who", ["member", "facilitator", "owner", "pending", "banned", "outsider", "admin"])
def test_member_threads_are_the_visible_threads_of_the_members_communities(world, conversation, who):
    user = getattr(world, who)
    factories.thread(world.member, world.public, title="Mira held", suspected_spam=True)
    nina = User.objects.create_user(username="nina", email="nina@example.org", password="correct horse battery")
    factories.membership(nina, world.private)
    factories.thread(nina, world.private, title="Nina held", suspected_spam=True)
    factories.thread(world.owner, world.approval, title="Guild")
    factories.thread(world.other_facilitator, world.elsewhere, title="Elsewhere")
    mine = Membership.objects.filter(user=user, state=Membership.State.ACTIVE).values("community_id")
    expected = set(Thread.objects.visible_to(user).filter(community__in=mine).values_list("pk", flat=True))
    assert set(Thread.objects.of_member(user).values_list("pk", flat=True)) == expected
    rows_ = list(Membership.objects.filter(user=user))
    assert set(Thread.objects.of_member(user, memberships=rows_).values_list("pk", flat=True)) == expected
    assert not Thread.objects.of_member(AnonymousUser()).exists()
    for thread in Thread.objects.filter(pk__in=expected).select_related("community"):
        assert policy.can_view_thread(user, thread)
