"""Browser journey: a member runs into the limits and loses nothing they typed (Chromium, axe-core, CSP)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from discussions.models import Reaction, Thread
from tests.browser import PASSWORD, assert_accessible, log_in, sign_up, visit

pytestmark = pytest.mark.browser


def test_member_over_the_posting_limit_sees_why_and_keeps_the_text(page, live_server, world, conversation, settings):
    # Hour-long windows: the journey never straddles a window's end.
    settings.POST_RATE_LIMIT = settings.NEW_ACCOUNT_POST_RATE_LIMIT = "1/3600"
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "post": ("1/3600", "100/3600"), "react": ("0/3600", "0/3600")}
    blocked = []
    page.on("console", lambda msg: blocked.append(msg.text) if "Content Security Policy" in msg.text else None)

    log_in(page, live_server.url, world.member.email)
    visit(page, f"{live_server.url}/c/commons/threads/new/")
    page.get_by_label("Title").fill("Night-time pain scores")
    page.get_by_label("Your post").fill("How often do you re-score overnight?")
    page.get_by_role("button", name="Post thread").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Night-time pain scores")

    visit(page, f"{live_server.url}/c/commons/threads/new/")
    text = "Second question: who charts the PAINAD score\non the late shift?"
    page.get_by_label("Title").fill("Late shift charting")
    page.get_by_label("Your post").fill(text)
    response_status = []
    page.on(
        "response",
        lambda r: response_status.append(r.status) if r.request.method == "POST" and "/threads/new/" in r.url else None,
    )
    page.get_by_role("button", name="Post thread").click()
    expect(page.get_by_role("alert")).to_contain_text("You're posting faster than this site allows")
    expect(page.get_by_role("alert")).to_contain_text("your text is kept below")
    assert response_status[-1] == 429
    expect(page.get_by_label("Title")).to_have_value("Late shift charting")
    expect(page.get_by_label("Your post")).to_have_value(text)
    assert not Thread.objects.filter(title="Late shift charting").exists()
    assert_accessible(page)

    # "Helpful" is an htmx button: the refusal is said next to it, the page stays.
    visit(page, live_server.url + conversation.thread.get_absolute_url())
    answer = page.locator(f"#post-{conversation.answer.pk}")
    answer.get_by_role("button", name="Helpful").click()
    expect(answer.get_by_role("alert")).to_contain_text("faster than this site allows")
    assert not Reaction.objects.filter(user=world.member).exists()
    assert_accessible(page)
    # The strict policy (no inline scripts) blocked nothing the pages need.
    assert blocked == []


def test_visitor_over_the_signup_limit_gets_a_page_that_hands_back_what_was_typed(page, live_server, db, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "signup": "0/m/ip"}
    visit(page, f"{live_server.url}/accounts/signup/")
    sign_up(page, email="rosa@example.org", username="rosa", display_name="Rosa Alvarez", password=PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Too many attempts")
    expect(page.get_by_role("alert")).to_contain_text("Please wait about 1 minute")
    expect(page.get_by_label("Email")).to_have_value("rosa@example.org")
    expect(page.get_by_label("Display name")).to_have_value("Rosa Alvarez")
    expect(page.get_by_label("Password", exact=True)).to_have_value("")
    expect(page.get_by_label("Password (again)")).to_have_value("")
    assert_accessible(page)


def test_member_over_the_preview_limit_sees_why_and_keeps_the_text(
    page, browser, live_server, world, conversation, settings
):
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "preview": ("1/3600", "100/3600"),
        "live_preview": ("1/3600", "100/3600"),
    }
    # A new thread without JavaScript (the preview is a page trip): the first preview shows,
    # the second comes back as a 429 page with the text in place.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    context.set_default_timeout(15_000)
    plain = context.new_page()
    try:
        log_in(plain, live_server.url, world.member.email)
        plain.goto(f"{live_server.url}/c/commons/threads/new/")
        plain.get_by_label("Title").fill("Night-time pain scores")
        plain.get_by_label("Your post").fill("How often do you **re-score** overnight?")
        plain.get_by_role("button", name="Preview").click()
        expect(plain.get_by_label("Preview").locator("strong")).to_have_text("re-score")
        statuses = []
        plain.on("response", lambda r: statuses.append(r.status) if r.request.method == "POST" else None)
        text = "How often do you **re-score** overnight,\nand who charts it?"
        plain.get_by_label("Your post").fill(text)
        plain.get_by_role("button", name="Preview").click()
        expect(plain.get_by_role("alert")).to_contain_text("You're previewing faster than this site allows")
        assert statuses[-1] == 429
        expect(plain.get_by_label("Title")).to_have_value("Night-time pain scores")
        expect(plain.get_by_label("Your post")).to_have_value(text)
        expect(plain.get_by_label("Preview")).to_have_count(0)
    finally:
        context.close()

    # The reply form under a post, with the live preview: the refusal is said in the preview,
    # and the box keeps what was typed.
    log_in(page, live_server.url, world.member.email)
    visit(page, live_server.url + conversation.thread.get_absolute_url())
    page.get_by_role("link", name="Reply to Fern Facilitator").click()
    slot = page.locator(f"#reply-slot-{conversation.answer.pk}")
    slot.get_by_label("Your reply").fill("We pair it with a *night-time* family call.")
    expect(slot.get_by_label("Live preview").locator("em")).to_have_text("night-time")
    slot.get_by_label("Your reply").fill("We pair it with a *night-time* family call, twice.")
    expect(slot.get_by_label("Live preview")).to_contain_text("You're previewing faster than this site allows")
    expect(slot.get_by_label("Your reply")).to_have_value("We pair it with a *night-time* family call, twice.")
    assert_accessible(page)
