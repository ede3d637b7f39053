"""Browser journeys for the front page: a member's home with its tabs, a facilitator's waiting
counts, My calendar and a visitor's home, at 1280 and 390 px, light and dark (Chromium, axe-core)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from communities.models import WatchLevel
from discussions import services
from events import services as events
from tests import factories
from tests.browser import SCREENSHOTS, assert_accessible, log_in, visit

pytestmark = pytest.mark.browser

VIEWS = [(1280, "light"), (390, "light"), (390, "dark"), (1280, "dark")]


@pytest.fixture
def lively(world, conversation, make_user):
    """A member's week: threads read and replied to since, new ones, an answered question, events."""
    nina = make_user("nina", display_name="Nina Newcomer")
    factories.membership(nina, world.public)
    services.mark_read(world.member, conversation.thread, [1])  # her question: the replies are news
    read = factories.thread(world.owner, world.public, title="Handover checklists that stick", kind="story")
    services.set_thread_level(world.member, read, WatchLevel.TRACKING)  # unread counts for it
    services.mark_read(world.member, read)
    services.reply(world.facilitator, read, "We laminate ours and keep them at the bedside.")
    services.reply(nina, read, "Ours live in the shared drive; nobody opens them.")
    factories.thread(nina, world.public, title="First night shift: what do I check first?", kind="question")
    factories.thread(world.facilitator, world.private, title="Tapering plan review for next week")
    factories.thread(nina, world.public, title="Waiting for a facilitator", suspected_spam=True)
    services.flag_post(nina, conversation.nested, "Feels dismissive")
    chat = factories.event(world.owner, world.public, title="Night rounds hosted chat", starts=timedelta(days=2))
    events.rsvp(world.member, chat, "going")
    factories.event(world.owner, world.private, title="Case review call", kind="call", starts=timedelta(days=6))
    return nina


def _context(browser, width: int, scheme: str):
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    context.set_default_timeout(15_000)
    return context


def _fits(view, width: int) -> None:
    wide = view.evaluate("document.documentElement.scrollWidth")
    assert wide <= width, f"{view.url} scrolls sideways at {width}px: {wide}px wide"


def _shot(view, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    view.screenshot(path=str(SCREENSHOTS / name), full_page=True)


@pytest.mark.parametrize(("width", "scheme"), VIEWS)
def test_a_member_reads_latest_unread_and_new_on_their_home(browser, live_server, world, lively, width, scheme):
    context = _context(browser, width, scheme)
    try:
        view = context.new_page()
        log_in(view, live_server.url, world.member.email)
        visit(view, live_server.url + "/")
        expect(view.get_by_role("heading", level=1)).to_have_text("Welcome to copsite, Mira Member")
        tabs = view.get_by_role("navigation", name="Conversations")
        expect(tabs.get_by_role("link", name="Latest")).to_have_attribute("aria-current", "page")
        threads = view.locator("#home-threads .thread-list")
        expect(threads).to_contain_text("Tapering plan review for next week")  # private communities too
        expect(threads).to_contain_text("Zebra Quince Circle")
        expect(view.locator("#questions-heading")).to_have_text("Your questions got answers")
        expect(view.get_by_text("2 new replies")).to_be_visible()
        expect(view.get_by_text("You said: Going")).to_be_visible()
        _fits(view, width)
        if (width, scheme) != (1280, "dark"):
            _shot(view, f"home-member-{'dark-' if scheme == 'dark' else ''}{width}.png")
        view.evaluate("window.__marker = 1")

        # Unread: swapped in place by htmx, the address says where we are.
        tabs.get_by_role("link", name=re.compile("^Unread")).click()
        expect(view).to_have_url(re.compile(r"\?tab=unread$"))
        expect(tabs.get_by_role("link", name=re.compile("^Unread"))).to_have_attribute("aria-current", "page")
        unread = view.locator("#home-threads .thread-list")
        expect(unread).to_contain_text("Handover checklists that stick")
        expect(unread.get_by_role("link", name="2 unread in Handover checklists that stick")).to_be_visible()
        assert view.evaluate("window.__marker") == 1  # no page load
        assert_accessible(view)

        tabs.get_by_role("link", name=re.compile("^New")).click()
        expect(view).to_have_url(re.compile(r"\?tab=new$"))
        expect(view.locator("#home-threads .thread-list")).to_contain_text("First night shift: what do I check first?")
        expect(view.locator("#home-threads")).not_to_contain_text("Handover checklists that stick")
        assert_accessible(view)

        # Straight to the first unread reply from the count.
        tabs.get_by_role("link", name=re.compile("^Unread")).click()
        view.get_by_role("link", name="2 unread in Handover checklists that stick").click()
        expect(view).to_have_url(re.compile(r"/c/commons/t/\d+/(\?page=\d+)?#post-\d+$"))
        view.go_back()
        view.reload()
        expect(view.locator("#home-threads")).not_to_contain_text("Handover checklists that stick")  # read now
    finally:
        context.close()


def test_the_home_tabs_work_without_javascript(browser, live_server, world, lively):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    try:
        view = context.new_page()
        log_in_without_js(view, live_server.url, world.member.email)
        view.goto(live_server.url + "/")
        view.get_by_role("navigation", name="Conversations").get_by_role("link", name=re.compile("^New")).click()
        expect(view).to_have_url(re.compile(r"\?tab=new$"))
        expect(view.locator("#home-threads .thread-list")).to_contain_text("First night shift")
    finally:
        context.close()


def log_in_without_js(view, base: str, email: str) -> None:
    view.goto(f"{base}/accounts/login/")
    view.get_by_label("Email").fill(email)
    view.get_by_label("Password").fill("correct horse battery")
    view.get_by_role("button", name="Log in").click()
    expect(view.get_by_role("navigation", name="Account")).to_be_visible()


@pytest.mark.parametrize(("width", "scheme"), [(1280, "light"), (390, "dark")])
def test_a_facilitator_sees_what_waits_and_goes_to_the_queue(browser, live_server, world, lively, width, scheme):
    context = _context(browser, width, scheme)
    try:
        view = context.new_page()
        log_in(view, live_server.url, world.facilitator.email)
        visit(view, live_server.url + "/")
        waiting = view.get_by_role("region", name="Waiting for you")
        expect(waiting.get_by_role("link", name="1 flagged post")).to_be_visible()
        expect(waiting.get_by_role("link", name="1 post held for review")).to_be_visible()
        expect(waiting.get_by_role("link", name="1 join request")).to_have_count(2)  # Ward Commons, the circle
        _fits(view, width)
        _shot(view, f"home-facilitator-{width}-{scheme}.png")
        waiting.get_by_role("link", name="1 flagged post").click()
        expect(view).to_have_url(re.compile(r"/c/commons/facilitate/#flags-heading$"))
        expect(view.get_by_role("heading", name="Flagged posts (1)")).to_be_visible()
        assert_accessible(view)
    finally:
        context.close()


@pytest.mark.parametrize(("width", "scheme"), [(390, "light"), (1280, "dark")])
def test_my_calendar_lists_the_members_events_by_day(browser, live_server, world, lively, width, scheme):
    context = _context(browser, width, scheme)
    try:
        view = context.new_page()
        log_in(view, live_server.url, world.member.email)
        visit(view, live_server.url + "/")
        view.get_by_role("navigation", name="Main").get_by_role("link", name="My calendar").click()
        expect(view.get_by_role("heading", level=1)).to_have_text("My calendar")
        assert_accessible(view)
        expect(view.get_by_role("heading", level=2)).to_have_count(2)  # one per day
        expect(view.locator(".event-list").first).to_contain_text("Night rounds hosted chat")
        expect(view.get_by_text("You said: Going")).to_be_visible()
        expect(view.get_by_role("link", name="Get a private iCal address")).to_be_visible()
        _fits(view, width)
        _shot(view, "calendar-390.png" if width == 390 else f"calendar-{width}-{scheme}.png")
    finally:
        context.close()


@pytest.mark.parametrize(("width", "scheme"), [(1280, "light"), (390, "dark")])
def test_a_visitor_reads_the_introduction_then_public_communities_and_activity(
    browser, live_server, world, lively, width, scheme
):
    context = _context(browser, width, scheme)
    try:
        view = context.new_page()
        visit(view, live_server.url + "/")
        expect(view.get_by_role("heading", level=1)).to_have_text("Get better at your practice, together.")
        expect(view.get_by_role("heading", name="Recent conversations")).to_be_visible()
        recent = view.locator(".home-public .thread-list")
        expect(recent).to_contain_text("Handover checklists that stick")
        page = view.content()
        for secret in ("Zebra", "Tapering plan review", "Waiting for a facilitator", "/c/circle/"):
            assert secret not in page, secret
        _fits(view, width)
        _shot(view, "home-anonymous-1280.png" if width == 1280 else f"home-anonymous-{width}-{scheme}.png")
    finally:
        context.close()
