"""Browser journeys for notifications: the bell, its dropdown and the full page (Chromium, axe-core)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from discussions import services as discussions
from events import services as events
from events.models import RSVP
from notifications.models import Notification
from tests import factories
from tests.browser import SCREENSHOTS, assert_accessible, log_in, visit

pytestmark = pytest.mark.browser

TITLE = "How do you assess pain in delirium?"


def test_opening_a_notification_clears_it_and_lands_on_the_post(page, live_server, world, conversation):
    """The bug: a notification opened from the list stayed unread, and the bell kept counting it."""
    log_in(page, live_server.url, world.member.email)
    visit(page, f"{live_server.url}/notifications/")
    expect(page.locator(".bell-count:visible")).to_have_text("1")
    row = page.locator(".notification-list li").filter(has_text="How do you assess pain in delirium?")
    row.locator("a, button").first.click()

    # The exact post: its thread's page, scrolled to Fern's answer.
    expect(page).to_have_url(re.compile(rf"/c/commons/t/{conversation.thread.pk}/#post-{conversation.answer.pk}$"))
    expect(page.locator(f"#post-{conversation.answer.pk}")).to_contain_text("Try the abbey scale first.")
    # Opened, so read: the bell stops counting it.
    expect(page.locator(".bell-count:visible")).to_have_count(0)
    assert not Notification.objects.filter(user=world.member, read_at__isnull=True).exists()


def _news_for_mira(world, conversation):
    """Three people reply to Mira's question (one row), her answer elsewhere is found helpful, a chat starts soon."""
    for person in (world.owner, world.admin):
        discussions.reply(person, conversation.thread, f"Reply from {person.name}", parent=conversation.opening)
    other = factories.thread(world.owner, world.public, title="Handover checklists?", kind="question")
    answer = discussions.reply(world.member, other, "We use a two-line SBAR.")
    discussions.toggle_helpful(world.facilitator, answer)
    chat = factories.event(world.owner, world.public, title="Night-shift chat", starts=timedelta(minutes=40))
    events.rsvp(world.member, chat, RSVP.Answer.GOING)
    events.send_reminders(timezone.now())


@pytest.mark.parametrize(("width", "scheme"), [(1280, "light"), (1280, "dark"), (390, "light"), (390, "dark")])
def test_the_bell_dropdown_by_keyboard_and_pointer(browser, live_server, world, conversation, width, scheme):
    _news_for_mira(world, conversation)
    context = browser.new_context(viewport={"width": width, "height": 844}, color_scheme=scheme)
    context.set_default_timeout(15_000)
    try:
        view = context.new_page()
        log_in(view, live_server.url, world.member.email)
        visit(view, f"{live_server.url}/c/commons/")
        bell = view.get_by_role("button", name="Notifications, 5 unread")
        expect(bell).to_have_attribute("aria-expanded", "false")
        expect(view.get_by_role("link", name=re.compile("^Notifications, 5 unread"))).to_be_hidden()

        # Keyboard: Enter opens it, focus moves to its heading, the grouped row is there.
        bell.focus()
        view.keyboard.press("Enter")
        expect(bell).to_have_attribute("aria-expanded", "true")
        panel = view.locator("#bell-panel")
        expect(panel.get_by_role("heading", name="Notifications")).to_be_focused()
        row = re.compile(rf"^Ada Admin and 2 others replied to you in “{re.escape(TITLE)}”")
        grouped = panel.get_by_role("button", name=row)
        expect(grouped).to_be_visible()
        expect(grouped).to_contain_text("3 new")
        expect(panel.get_by_role("button", name=re.compile("^Starting soon: “Night-shift chat”"))).to_be_visible()
        helpful = re.compile("^Fern Facilitator found your post helpful in")
        expect(panel.get_by_role("button", name=helpful)).to_be_visible()
        assert_accessible(view)
        # Readable where it is: inside the window, nothing scrolls sideways.
        box = panel.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, box
        assert view.evaluate("document.documentElement.scrollWidth") <= width
        suffix = "-dark" if scheme == "dark" else ""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        view.screenshot(path=str(SCREENSHOTS / f"bell-dropdown-{width}{suffix}.png"))

        # Tab walks into the rows; Escape closes and gives focus back to the bell.
        view.keyboard.press("Tab")
        expect(panel.get_by_role("button", name="Mark all as read")).to_be_focused()
        view.keyboard.press("Escape")
        expect(panel).to_be_hidden()
        expect(bell).to_have_attribute("aria-expanded", "false")
        expect(bell).to_be_focused()

        # A click elsewhere closes it too.
        bell.click()
        expect(grouped).to_be_visible()
        view.locator(".site-footer p").click()
        expect(panel).to_be_hidden()

        # Opening the grouped row reads its three notifications and lands on the first of them.
        bell.click()
        grouped.click()
        expect(view).to_have_url(re.compile(rf"/t/{conversation.thread.pk}/#post-{conversation.answer.pk}$"))
        expect(view.get_by_role("button", name="Notifications, 2 unread")).to_be_visible()
        assert_accessible(view)
    finally:
        context.close()


def test_without_javascript_the_bell_is_a_link_and_rows_still_open_the_post(browser, live_server, world, conversation):
    _news_for_mira(world, conversation)
    context = browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False)
    context.set_default_timeout(15_000)
    try:
        view = context.new_page()
        log_in(view, live_server.url, world.member.email)
        view.get_by_role("link", name="Notifications, 5 unread").click()
        # (axe needs JavaScript: the same page is checked with it in the first journey.)
        expect(view.get_by_role("heading", level=1)).to_have_text("Notifications")
        view.get_by_role("button", name=re.compile("^Fern Facilitator found your post helpful in")).click()
        expect(view).to_have_url(re.compile(r"#post-\d+$"))
        expect(view.get_by_role("link", name="Notifications, 4 unread")).to_be_visible()
        view.get_by_role("link", name="Notifications, 4 unread").click()
        view.get_by_role("button", name="Mark all as read").click()
        expect(view.get_by_role("link", name="Notifications", exact=True)).to_be_visible()
        assert not Notification.objects.filter(user=world.member, read_at__isnull=True).exists()
    finally:
        context.close()
