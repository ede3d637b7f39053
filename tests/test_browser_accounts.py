"""Browser journeys for accounts, in Debian's Chromium, with axe-core on every page."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from playwright.sync_api import expect

from tests.browser import assert_accessible, sign_up, visit
from tests.worker import text_of

pytestmark = [pytest.mark.browser, pytest.mark.live_worker]

PASSWORD = "lanterns over the harbour"


def test_visitor_signs_up_verifies_logs_in_and_out(page, live_server, live_worker):
    visit(page, live_server.url + "/")
    page.get_by_role("link", name="Sign up").first.click()
    expect(page).to_have_url(re.compile(r"/accounts/signup/$"))
    assert_accessible(page)

    sign_up(page, email="rosa@example.org", username="rosa", display_name="Rosa Alvarez", password=PASSWORD)
    expect(page).to_have_url(re.compile(r"/accounts/confirm-email/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Verify")
    assert_accessible(page)

    # The verification link arrives by email, sent by the live Celery worker.
    [message] = live_worker.wait_for_mail(1)
    assert message["To"] == "rosa@example.org"
    link = re.search(r"https?://\S+/accounts/confirm-email/[^/\s]+/", text_of(message)).group(0)
    # The link points at SITE_URL, never at the host the sign-up came through;
    # the journey follows the same path on the test server.
    assert link.startswith(f"{settings.SITE_URL}/accounts/confirm-email/")
    visit(page, live_server.url + link.removeprefix(settings.SITE_URL))
    page.get_by_role("button", name="Confirm").click()

    account_menu = page.get_by_role("navigation", name="Account")
    expect(account_menu).to_contain_text("Rosa Alvarez")
    account_menu.locator("summary").click()
    account_menu.get_by_role("button", name="Log out").click()
    expect(account_menu).not_to_contain_text("Rosa Alvarez")
    expect(account_menu.get_by_role("link", name="Log in")).to_be_visible()

    account_menu.get_by_role("link", name="Log in").click()
    assert_accessible(page)
    page.get_by_label("Email").fill("rosa@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(account_menu).to_contain_text("Rosa Alvarez")
    assert_accessible(page)

    account_menu.locator("summary").click()
    account_menu.get_by_role("button", name="Log out").click()
    expect(account_menu.get_by_role("link", name="Log in")).to_be_visible()


def test_pages_fit_a_phone_and_pass_axe_in_dark_mode(page, live_server, db):
    page.set_viewport_size({"width": 360, "height": 740})
    page.emulate_media(color_scheme="dark")
    for path in ["/", "/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"]:
        visit(page, live_server.url + path)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px on a 360px phone"
    # Keyboard first: the skip link is the first thing Tab reaches and it moves focus to main.
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Skip to content"
