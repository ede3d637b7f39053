"""Playwright with Debian's Chromium, plus axe-core checks on every page a journey visits."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
BLOCKING_IMPACTS = {"serious", "critical"}


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does)")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium to run browser journeys")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the ORM calls
    # the test makes beside it are ordinary synchronous code.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield browser
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def page(browser, request, transactional_db):
    # After transactional_db, so torn down before it: the page falls silent before the live
    # server's database is emptied. Pages send requests on their own (a draft saved 1.5 s after
    # typing stops, and as the page is left); one arriving during the flush deadlocked it.
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    in_flight: set = set()
    context.on("request", lambda r: in_flight.add(r))
    context.on("requestfinished", lambda r: in_flight.discard(r))
    context.on("requestfailed", lambda r: in_flight.discard(r))
    page = context.new_page()
    yield page
    context.route("**/*", lambda route: route.abort())  # nothing new reaches the server
    deadline = time.monotonic() + 5
    while in_flight and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    page.goto("about:blank")  # the draft saved as the page is left is refused by the route above
    context.close()


def assert_accessible(page) -> None:
    """Run axe-core on the current page; fail on serious or critical violations."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    blocking = [v for v in results.response["violations"] if v.get("impact") in BLOCKING_IMPACTS]
    if blocking:
        lines = [f"{page.url}:"]
        for violation in blocking:
            targets = [node["target"] for node in violation["nodes"][:3]]
            lines.append(f"  [{violation['impact']}] {violation['id']}: {violation['help']} at {targets}")
        raise AssertionError("\n".join(lines))


def visit(page, url: str):
    response = page.goto(url)
    assert response is not None and response.status < 400, f"{url} answered {response and response.status}"
    assert_accessible(page)
    return response


def drafts_settled(page) -> None:
    """Wait until every posting form on the page has its draft back (or none): for a member,
    site.js asks the server first, so an empty box means nothing until then."""
    page.wait_for_function(
        """() => Array.from(document.querySelectorAll('input[name="draft_key"]'))
            .every((marker) => !marker.form || marker.form.hasAttribute("data-draft-state"))"""
    )


PASSWORD = "correct horse battery"


def log_in(pw_page, base: str, email: str, password: str = PASSWORD) -> None:
    from playwright.sync_api import expect

    pw_page.goto(f"{base}/accounts/login/")
    pw_page.get_by_label("Email").fill(email)
    pw_page.get_by_label("Password").fill(password)
    pw_page.get_by_role("button", name="Log in").click()
    expect(pw_page.get_by_role("navigation", name="Account").locator("summary")).to_be_visible()


def sign_up(pw_page, *, email: str | None, username: str, display_name: str, password: str) -> None:
    """Fill in the sign-up form on the current page and send it, as a visitor types it.

    ``email`` None leaves the address the form already holds (an invitation fills it in).
    """
    if email is not None:
        pw_page.get_by_label("Email").fill(email)
    pw_page.get_by_label("Username").fill(username)
    pw_page.get_by_label("Display name").fill(display_name)
    pw_page.get_by_label("Password", exact=True).fill(password)
    pw_page.get_by_label("Password (again)").fill(password)
    pw_page.get_by_role("button", name="Sign up").click()


def log_out(pw_page) -> None:
    from playwright.sync_api import expect

    menu = pw_page.get_by_role("navigation", name="Account")
    menu.locator("summary").click()
    menu.get_by_role("button", name="Log out").click()
    expect(menu.get_by_role("link", name="Log in")).to_be_visible()
