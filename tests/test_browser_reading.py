"""Browser journeys for read tracking: a member reads part of a long thread, the list and the jump say what is left.

Reading is tracked per post (discussions.reading): opening page 1 of a
three-page thread marks page 1's posts read, nothing more. The community's
list then counts the posts of pages 2 and 3, and "jump to first unread"
lands on page 2's first post. Nested threads show their posts in tree
order, not in the order they were written: the count and the jump follow
what the pages showed.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from discussions import services
from discussions.models import Post
from tests import factories
from tests.browser import SCREENSHOTS, log_in, visit

pytestmark = pytest.mark.browser

PER_PAGE = 5


@pytest.fixture
def short_pages(settings):
    settings.POSTS_PER_PAGE = PER_PAGE
    settings.PAGE_CACHE_SECONDS = 0


def thread_row(pw_page, title: str):
    return pw_page.locator(".thread-row").filter(has=pw_page.get_by_role("link", name=title, exact=True))


def track_this_thread(pw_page) -> None:
    """Choose "Tracking" in the thread's watching control: lists count what is unread in threads one tracks."""
    control = pw_page.locator(".watch-control")
    control.locator("summary").click()
    control.get_by_role("button", name=re.compile(r"^Tracking\b")).click()
    expect(control.locator("summary")).to_have_accessible_name("Notifications for this thread: Tracking")


def test_page_one_of_three_leaves_pages_two_and_three_unread(page, live_server, world, short_pages):
    # Fern asks; Olive and Fern reply fourteen times: pages of 5 posts, three pages.
    thread = factories.thread(
        world.facilitator, world.public, title="Handover at seven", replies=14, by=[world.owner, world.facilitator]
    )
    posts = list(Post.objects.filter(thread=thread).order_by("path"))
    assert len(posts) == 15
    log_in(page, live_server.url, world.member.email)
    visit(page, live_server.url + thread.get_absolute_url())
    expect(page.locator("#posts > li.post")).to_have_count(PER_PAGE)
    track_this_thread(page)

    # Back to the list: the ten posts of pages 2 and 3 are unread, not the whole thread read.
    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="Ward Commons").click()
    row = thread_row(page, "Handover at seven")
    expect(row).to_have_class(re.compile(r"\bis-unread\b"))
    jump = row.get_by_role("link", name=re.compile(r"^10 new posts in Handover at seven"))
    expect(jump).to_be_visible()
    visit(page, page.url)  # axe on the list with the counts
    page.screenshot(path=str(SCREENSHOTS / "reading-list-after-page-one.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.emulate_media(color_scheme="dark")
    visit(page, page.url)
    expect(thread_row(page, "Handover at seven").get_by_role("link", name=re.compile(r"^10 new"))).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "reading-list-after-page-one-390-dark.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.emulate_media(color_scheme="light")

    # "Jump to first unread" lands on page 2, at its first post, marked new.
    thread_row(page, "Handover at seven").get_by_role("link", name=re.compile(r"^10 new")).click()
    first_of_page_two = posts[PER_PAGE]
    expect(page).to_have_url(re.compile(rf"\?page=2#post-{first_of_page_two.pk}$"))
    expect(page.locator(f"#post-{first_of_page_two.pk} .badge-new")).to_have_text("New")
    expect(page.locator("#posts > li.post.is-unread")).to_have_count(PER_PAGE)

    # Page 2 read too: five left, on page 3.
    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="Ward Commons").click()
    expect(thread_row(page, "Handover at seven").get_by_role("link", name=re.compile(r"^5 new"))).to_be_visible()
    thread_row(page, "Handover at seven").get_by_role("link", name=re.compile(r"^5 new")).click()
    expect(page).to_have_url(re.compile(rf"\?page=3#post-{posts[2 * PER_PAGE].pk}$"))

    # All read: no count, no highlight.
    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="Ward Commons").click()
    row = thread_row(page, "Handover at seven")
    expect(row).not_to_have_class(re.compile(r"\bis-unread\b"))
    expect(row.locator(".badge-new")).to_have_count(0)


def test_a_nested_thread_counts_what_its_pages_showed_and_jumps_in_reading_order(page, live_server, world, short_pages):
    """Tree order is not writing order: page 1 shows posts 1, 2, 4, 5, 6; the jump follows the pages."""
    thread = factories.thread(world.facilitator, world.public, title="Charting pain at night")
    first = services.reply(world.owner, thread, "First branch")  # post 2
    second = services.reply(world.owner, thread, "Second branch")  # post 3: after first's subtree, on page 3
    under_first = factories.replies(thread, 8, by=[world.facilitator, world.owner], under=first)  # posts 4..11
    later = services.reply(world.facilitator, thread, "Under the second", parent=second)  # post 12
    tree = list(Post.objects.filter(thread=thread).order_by("path"))
    assert [p.pk for p in tree] == [tree[0].pk, first.pk, *[p.pk for p in under_first], second.pk, later.pk]

    log_in(page, live_server.url, world.member.email)
    visit(page, live_server.url + thread.get_absolute_url())
    expect(page.locator("#posts > li.post")).to_have_count(PER_PAGE)
    track_this_thread(page)

    # Twelve posts, five shown (the opening post, the first branch, three answers under it): seven unread.
    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="Ward Commons").click()
    jump = thread_row(page, "Charting pain at night").get_by_role("link", name=re.compile(r"^7 new"))
    expect(jump).to_be_visible()
    # The first unread in reading order is on page 2 (the fourth answer under the first branch),
    # not the second branch (written earlier, shown on page 3).
    jump.click()
    expect(page).to_have_url(re.compile(rf"\?page=2#post-{under_first[3].pk}$"))
    expect(page.locator("#posts > li.post.is-unread")).to_have_count(PER_PAGE)

    # Page 3 next: the second branch and its answer; then nothing is left.
    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="Ward Commons").click()
    jump = thread_row(page, "Charting pain at night").get_by_role("link", name=re.compile(r"^2 new"))
    jump.click()
    expect(page).to_have_url(re.compile(rf"\?page=3#post-{second.pk}$"))
    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="Ward Commons").click()
    expect(thread_row(page, "Charting pain at night").locator(".badge-new")).to_have_count(0)


def test_posts_the_member_may_not_read_are_never_counted(page, live_server, world, make_user, short_pages):
    """A held post of someone else, a hidden one and a deleted one are left out of the member's count."""
    newcomer = make_user("nina", display_name="Nina Newcomer")
    factories.membership(newcomer, world.public)
    thread = factories.thread(
        world.facilitator, world.public, title="Night staffing", replies=4, by=[world.owner, world.facilitator]
    )
    services.mark_read(world.member, thread)
    services.mark_read(world.facilitator, thread)
    services.set_thread_level(world.member, thread, "tracking")  # lists count unread posts in tracked threads
    services.reply(newcomer, thread, "Buy pills at example.org", suspected_spam=True)  # held for review
    hidden = services.reply(world.owner, thread, "Said in anger")
    services.hide_post(world.facilitator, hidden, "Personal remarks")
    deleted = services.reply(world.owner, thread, "Wrong thread, sorry")
    services.delete_post(world.owner, deleted)
    services.reply(world.owner, thread, "Back to staffing: two nurses at night.")

    log_in(page, live_server.url, world.member.email)
    visit(page, f"{live_server.url}/c/commons/")
    expect(thread_row(page, "Night staffing").get_by_role("link", name=re.compile(r"^1 new"))).to_be_visible()
    thread_row(page, "Night staffing").get_by_role("link", name=re.compile(r"^1 new")).click()
    expect(page.locator("#posts > li.post.is-unread")).to_have_count(1)
    expect(page.locator("#posts > li.post.is-unread")).to_contain_text("two nurses at night")
