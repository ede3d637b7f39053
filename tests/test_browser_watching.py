"""Browser journeys for watching levels: the watching control on a thread and a community, muting and unmuting.

Chromium through Playwright, axe-core on every state a person sees, at 1280 and
390 px, light and dark. Screenshots of the control open land in var/screenshots/
(watch-control-1280.png, watch-control-390.png and their -dark twins).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from communities.models import Membership
from discussions.models import ThreadWatch
from tests import factories
from tests.browser import SCREENSHOTS, assert_accessible, log_in, visit

pytestmark = pytest.mark.browser

WIDTHS = (1280, 390)


def control(pw_page):
    return pw_page.locator(".watch-control")


def summary(pw_page):
    return control(pw_page).locator("summary")


def option(pw_page, name: str):
    return control(pw_page).get_by_role("button", name=re.compile(rf"^{name}\b"))


def fits(pw_page, width: int, what: str) -> None:
    wide = pw_page.evaluate("document.documentElement.scrollWidth")
    assert wide <= width, f"{what} scrolls sideways at {width}px: {wide}px wide"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_member_opens_the_control_by_keyboard_and_watches_a_thread(browser, live_server, world, conversation, scheme):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=scheme)
    context.set_default_timeout(15_000)
    try:
        view = context.new_page()
        log_in(view, live_server.url, world.member.email)
        thread = factories.thread(world.owner, world.public, title="Charting pain scores hourly")
        url = live_server.url + thread.get_absolute_url()
        suffix = "" if scheme == "light" else "-dark"
        for width in WIDTHS:
            view.set_viewport_size({"width": width, "height": 900})
            visit(view, url)
            view.evaluate("window.__marker = 1")
            # Labelled and reachable from the keyboard: focus its button, Enter opens the menu.
            button = summary(view)
            expect(button).to_have_accessible_name("Notifications for this thread: Normal")
            button.focus()
            view.keyboard.press("Enter")
            expect(control(view).locator("details")).to_have_attribute("open", "")
            menu = control(view).get_by_role("group", name="Notifications for this thread")
            expect(menu).to_be_visible()
            for name, help_text in (
                ("Watching", "Be told about every new post in this thread."),
                ("Tracking", "See how many posts you haven't read"),
                ("Normal", "Be told only when someone replies to you or mentions you."),
                ("Muted", "Never see it in your lists or digests"),
            ):
                expect(option(view, name)).to_be_visible()
                expect(option(view, name)).to_have_accessible_description(re.compile(re.escape(help_text)))
            expect(option(view, "Normal")).to_have_attribute("aria-current", "true")
            view.keyboard.press("Tab")
            expect(option(view, "Watching")).to_be_focused()
            assert_accessible(view)
            fits(view, width, "the thread page with the control open")
            control(view).scroll_into_view_if_needed()
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            view.screenshot(path=str(SCREENSHOTS / f"watch-control-{width}{suffix}.png"))
            # Escape closes it and hands focus back to its button.
            view.keyboard.press("Escape")
            expect(control(view).locator("details")).not_to_have_attribute("open", "")
            expect(summary(view)).to_be_focused()

        # Choose "Watching": htmx swaps the control in place, which says what changed.
        view.set_viewport_size({"width": 1280, "height": 900})
        summary(view).click()
        option(view, "Watching").click()
        expect(summary(view)).to_have_accessible_name("Notifications for this thread: Watching")
        expect(control(view).get_by_role("status")).to_have_text(
            "You're watching this thread: you'll be told about every new post."
        )
        expect(summary(view)).to_be_focused()
        assert view.evaluate("window.__marker === 1"), "choosing a level reloaded the page"
        assert ThreadWatch.objects.get(user=world.member, thread=thread).level == "watching"
        assert_accessible(view)
        # And it stays so on the next visit.
        view.reload()
        expect(summary(view)).to_have_accessible_name("Notifications for this thread: Watching")
    finally:
        context.close()


def test_muting_a_thread_takes_it_out_of_the_list_and_the_muted_view_brings_it_back(page, live_server, world):
    thread = factories.thread(world.owner, world.public, title="Too much about bed rails")
    factories.thread(world.owner, world.public, title="Still interesting")
    log_in(page, live_server.url, world.member.email)
    visit(page, live_server.url + thread.get_absolute_url())
    summary(page).click()
    option(page, "Muted").click()
    expect(summary(page)).to_have_accessible_name("Notifications for this thread: Muted")

    visit(page, f"{live_server.url}/c/commons/")
    threads = page.locator(".thread-list")
    expect(threads.get_by_role("link", name="Still interesting", exact=True)).to_be_visible()
    expect(threads).not_to_contain_text("Too much about bed rails")
    page.get_by_role("navigation", name="Filter conversations").get_by_role("link", name="Muted (1)").click()
    expect(page).to_have_url(re.compile(r"/c/commons/\?show=muted$"))
    expect(page.locator(".thread-list")).to_contain_text("Too much about bed rails")
    expect(page.locator(".thread-list")).not_to_contain_text("Still interesting")
    assert_accessible(page)

    page.get_by_role("button", name="Unmute Too much about bed rails").click()
    expect(page.get_by_role("status")).to_contain_text("This thread is back to normal")
    expect(page).to_have_url(re.compile(r"/c/commons/\?show=muted$"))
    expect(page.locator(".thread-section")).to_contain_text("No muted conversations.")
    visit(page, f"{live_server.url}/c/commons/")
    back = page.locator(".thread-list").get_by_role("link", name="Too much about bed rails", exact=True)
    expect(back).to_be_visible()
    expect(page.get_by_role("link", name=re.compile(r"^Muted"))).to_have_count(0)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_facilitator_sees_they_watch_new_threads_and_mutes_the_community_on_a_phone(
    browser, live_server, world, conversation, scheme
):
    context = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme=scheme)
    context.set_default_timeout(15_000)
    try:
        view = context.new_page()
        log_in(view, live_server.url, world.facilitator.email)
        visit(view, f"{live_server.url}/c/commons/")
        button = summary(view)
        expect(button).to_have_accessible_name("Notifications for Ward Commons: Watching new threads")
        button.click()
        expect(control(view)).to_contain_text("Because you are a facilitator here.")
        expect(option(view, "Watching new threads")).to_have_attribute("aria-current", "true")
        assert_accessible(view)
        fits(view, 390, "the community page with the control open")
        option(view, "Muted").click()
        expect(control(view).get_by_role("status")).to_contain_text("You muted Ward Commons")
        expect(summary(view)).to_have_accessible_name("Notifications for Ward Commons: Muted")
        assert Membership.objects.get(user=world.facilitator, community=world.public).watch_level == "muted"
        assert_accessible(view)
    finally:
        context.close()


def test_the_control_works_without_javascript(browser, page, live_server, world, conversation):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    try:
        nojs = context.new_page()
        log_in(nojs, live_server.url, world.member.email)
        nojs.goto(live_server.url + conversation.thread.get_absolute_url())
        expect(summary(nojs)).to_have_accessible_name("Notifications for this thread: Tracking")
        summary(nojs).click()
        expect(control(nojs)).to_contain_text("Because you started this thread.")
        option(nojs, "Watching").click()
        expect(nojs.get_by_role("status").first).to_contain_text("You're watching this thread")
        expect(summary(nojs)).to_have_accessible_name("Notifications for this thread: Watching")
        # axe needs scripts: the same page, same session, in the script-enabled page.
        page.context.add_cookies(nojs.context.cookies())
        visit(page, nojs.url)
    finally:
        context.close()
