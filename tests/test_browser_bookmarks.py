"""Browser journeys for a member's own things: a bookmark with a reminder, a time zone chosen for
them at sign-up, and the one control that pauses email. Light and dark, 1280 and 390 px, axe on every page."""

from __future__ import annotations

import re
import zoneinfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import User
from bookmarks import times
from bookmarks.models import Bookmark
from bookmarks.tasks import deliver_reminders
from tests.browser import SCREENSHOTS, assert_accessible, log_in, visit

pytestmark = pytest.mark.browser

WIDTHS = (1280, 390)


@pytest.fixture
def context_for(browser):
    made = []

    def make(scheme: str, **options):
        context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=scheme, **options)
        context.set_default_timeout(15_000)
        made.append(context)
        return context.new_page()

    yield make
    for context in made:
        context.close()


def fits(page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= width, f"{page.url} scrolls sideways at {width}px: {wide}px wide"
    assert_accessible(page)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_member_bookmarks_a_post_for_tomorrow_at_nine_and_is_reminded(
    context_for, live_server, world, conversation, scheme
):
    User.objects.filter(pk=world.member.pk).update(time_zone="America/New_York")
    new_york = zoneinfo.ZoneInfo("America/New_York")
    page = context_for(scheme)
    log_in(page, live_server.url, world.member.email)
    visit(page, live_server.url + conversation.thread.get_absolute_url())

    opening = page.locator(f"#post-{conversation.opening.pk}")
    bookmark = opening.get_by_role("button", name="Bookmark this thread")
    expect(bookmark).to_have_attribute("aria-pressed", "false")
    bookmark.click()
    expect(bookmark).to_have_attribute("aria-pressed", "true")
    opening.get_by_role("link", name="Remind me about this thread").click()
    form = opening.locator("form.reminder-form")
    expect(form).to_be_visible()
    suffix = "" if scheme == "light" else "-dark"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    fits(page, 390)
    opening.screenshot(path=str(SCREENSHOTS / f"bookmarks-reminder-390{suffix}.png"))
    page.set_viewport_size({"width": 1280, "height": 900})
    form.get_by_role("radio", name=re.compile(r"Tomorrow at 9:00")).check()
    form.get_by_role("button", name="Save reminder").click()
    expect(form).to_have_count(0)

    saved = Bookmark.objects.get(user=world.member)
    expected = times.tomorrow_at_nine(timezone.now(), new_york)
    assert saved.remind_at == expected and saved.post_id == conversation.opening.pk
    local = saved.remind_at.astimezone(new_york)
    zone = local.strftime("%Z")  # EST or EDT, whichever 09:00 tomorrow is in
    short = f"{local:%a} {local.day} {local:%b}, 09:00 {zone}"
    expect(opening.locator(".reminder-link")).to_contain_text(f"Reminder: {short}")
    assert_accessible(page)
    opening.screenshot(path=str(SCREENSHOTS / f"bookmarks-post-1280{suffix}.png"))

    menu = page.get_by_role("navigation", name="Account")
    menu.locator("summary").click()
    menu.get_by_role("link", name="Bookmarks").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bookmarks")
    item = page.locator(".bookmark-item")
    expect(item).to_have_count(1)
    expect(item.get_by_role("link", name=conversation.thread.title, exact=True)).to_be_visible()
    expect(item).to_contain_text(f"Reminder: {local:%a} {local.day} {local:%b} {local.year}, 09:00 {zone}")
    for width in WIDTHS:
        fits(page, width)
        page.screenshot(path=str(SCREENSHOTS / f"bookmarks-{width}{suffix}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})

    # The beat task, driven at the reminder's moment, delivers it as a notification.
    assert deliver_reminders.apply(kwargs={"now": saved.remind_at.isoformat()}).get() == 1
    visit(page, live_server.url + "/notifications/")
    row = page.locator(".notification-list > li.is-unread").first
    expect(row).to_contain_text(f"Reminder you set: “{conversation.thread.title}”")
    reminder = row.get_by_role("button")
    reminder.click()
    expect(page).to_have_url(
        re.compile(rf"{re.escape(conversation.thread.get_absolute_url())}#post-{conversation.opening.pk}$")
    )
    assert_accessible(page)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_sign_up_offers_the_browsers_time_zone_and_a_filter_finds_another(context_for, live_server, db, scheme):
    page = context_for(scheme, timezone_id="Pacific/Auckland")
    visit(page, live_server.url + "/accounts/signup/")
    zone = page.get_by_label("Time zone", exact=True)
    expect(zone).to_have_value("Pacific/Auckland")
    expect(page.locator("#id_time_zone_helptext")).to_contain_text("Your browser says Auckland")
    for width in WIDTHS:
        fits(page, width)
    page.set_viewport_size({"width": 1280, "height": 900})

    finder = page.get_by_label("Find a place")
    finder.fill("lisbon")
    expect(zone).to_have_value("Europe/Lisbon")
    expect(page.get_by_role("status").filter(has_text="match")).to_have_text("1 time zone matches.")
    finder.fill("auckland")
    expect(zone).to_have_value("Pacific/Auckland")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("form").filter(has=zone).screenshot(path=str(SCREENSHOTS / f"signup-time-zone-1280-{scheme}.png"))
    page.get_by_label("Email").fill("ana@example.org")
    page.get_by_label("Username").fill("ana")
    page.get_by_label("Display name").fill("Ana Ngata")
    page.get_by_label("Password", exact=True).fill("lanterns over the harbour")
    page.get_by_label("Password (again)").fill("lanterns over the harbour")
    page.get_by_role("button", name=re.compile(r"^sign up$", re.I)).click()
    expect(page).to_have_url(re.compile(r"/accounts/confirm-email/$"))
    assert User.objects.get(username="ana").time_zone == "Pacific/Auckland"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_one_control_pauses_email_for_a_week_and_turns_it_back_on(context_for, live_server, world, scheme):
    User.objects.filter(pk=world.member.pk).update(time_zone="Europe/Paris")
    page = context_for(scheme)
    log_in(page, live_server.url, world.member.email)
    visit(page, live_server.url + "/settings/email/")
    # One control: a choice of how long, and its button; no second "pause" box in the digest settings.
    assert page.locator('[name="pause"]').count() == 1
    expect(page.get_by_role("combobox", name=re.compile("pause", re.I))).to_have_count(1)
    expect(page.get_by_role("checkbox", name=re.compile("pause", re.I))).to_have_count(0)
    for width in WIDTHS:
        fits(page, width)
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_label("Pause all email").select_option(label="For a week")
    page.get_by_role("button", name="Pause email").click()
    expect(page.locator(".messages")).to_contain_text("All email is paused.")
    until = User.objects.get(pk=world.member.pk).email_paused_until.astimezone(zoneinfo.ZoneInfo("Europe/Paris"))
    expect(page.locator(".email-state .alert")).to_contain_text(
        f"All email is paused until {until:%a} {until.day} {until:%b} {until.year}, {until:%H:%M} {until:%Z}"
    )
    for width in WIDTHS:
        fits(page, width)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("button", name="Turn email back on").click()
    expect(page.locator(".messages")).to_contain_text("Email is back on.")
    assert not User.objects.get(pk=world.member.pk).email_paused
    assert_accessible(page)
