"""Browser journeys for discussions: threads, nested replies, reactions, answers, moderation (Chromium, axe-core)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from discussions import services
from discussions.models import Post, Thread
from tests import factories
from tests.browser import SCREENSHOTS, assert_accessible, log_in, log_out, visit

pytestmark = pytest.mark.browser


def post_item(pw_page, post):
    """The <li> of one post on the thread page."""
    return pw_page.locator(f"#post-{post.pk}")


def same_document(pw_page) -> bool:
    """True while no page load happened since ``window.__marker`` was set (htmx swapped fragments in place)."""
    return pw_page.evaluate("window.__marker === 1 && performance.getEntriesByType('navigation').length === 1")


def test_member_starts_a_thread_with_markdown_and_a_tag_then_filters_by_it(page, live_server, world, conversation):
    log_in(page, live_server.url, world.member.email)
    visit(page, f"{live_server.url}/c/commons/")
    page.get_by_role("link", name="Start a thread").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Start a thread")
    assert_accessible(page)

    page.get_by_label("Title").fill("Night rounds without call bells")
    page.get_by_label("Story").check()
    page.get_by_label("Your post").fill("We cut **call bells** by half!\n\n- quieter wards\n- calmer nights")
    page.get_by_label("Tags").fill("Sleep")
    page.get_by_role("button", name="Post thread").click()

    expect(page.get_by_role("status")).to_contain_text("Your thread is posted.")
    thread = Thread.objects.get(title="Night rounds without call bells")
    expect(page).to_have_url(re.compile(rf"/c/commons/t/{thread.pk}/$"))
    body = post_item(page, thread.opening_post).locator(".user-content")
    expect(body.locator("strong")).to_have_text("call bells")
    expect(body.locator("li")).to_have_text(["quieter wards", "calmer nights"])
    expect(page.locator(".thread-head .pill")).to_have_text("Story")
    assert_accessible(page)

    page.get_by_role("list", name="Tags").get_by_role("link", name="sleep").click()
    expect(page).to_have_url(re.compile(r"/c/commons/\?tag=sleep$"))
    threads = page.locator(".thread-list")
    expect(threads.get_by_role("link", name="Night rounds without call bells")).to_be_visible()
    expect(threads).not_to_contain_text("How do you assess pain in delirium?")
    expect(page.get_by_role("navigation", name="Filter conversations")).to_contain_text("Tag: sleep")
    assert_accessible(page)


def test_reply_to_a_reply_nests_under_it(page, live_server, world, conversation):
    log_in(page, live_server.url, world.member.email)
    visit(page, live_server.url + conversation.thread.get_absolute_url())
    olive = post_item(page, conversation.nested)
    expect(olive).to_have_class(re.compile(r"\bindent-1\b"))
    olive.get_by_role("link", name="Reply to Olive Owner").click()
    olive.get_by_label("Your reply").fill("Hourly is a lot on nights; we do it **two-hourly**.")
    olive.get_by_role("button", name="Post reply").click()

    # Inline, the new reply sits inside Olive's post and says whom it answers.
    new = olive.locator(".post.just-posted")
    expect(new).to_contain_text("two-hourly")
    expect(new).to_have_class(re.compile(r"\bindent-2\b"))
    expect(new.locator(".in-reply-to")).to_have_text("replying to Olive Owner")
    assert_accessible(page)

    reply = Post.objects.get(body__startswith="Hourly is a lot")
    assert reply.parent_id == conversation.nested.pk
    # A later reply to Fern lands below Olive's subtree, away from its parent.
    late = services.reply(world.owner, conversation.thread, "Also check the MAR chart.", parent=conversation.answer)

    page.reload()
    ids = page.locator("#posts > li.post").evaluate_all("items => items.map(li => li.id)")
    order = [conversation.opening, conversation.answer, conversation.nested, reply, late]
    assert ids == [f"post-{p.pk}" for p in order]
    expect(post_item(page, reply)).to_have_class(re.compile(r"\bindent-2\b"))
    # Right under its parent the indent says it all; away from it, the post names whom it answers.
    expect(post_item(page, reply).locator(".in-reply-to")).to_have_count(0)
    expect(post_item(page, late)).to_have_class(re.compile(r"\bindent-1\b"))
    expect(post_item(page, late).locator(".in-reply-to")).to_have_text("replying to Fern Facilitator")
    assert_accessible(page)


def test_helpful_reaction_shows_pressed_and_survives_a_reload(page, live_server, world, conversation):
    log_in(page, live_server.url, world.member.email)
    visit(page, live_server.url + conversation.thread.get_absolute_url())
    fern = post_item(page, conversation.answer)
    fern.get_by_role("button", name="Helpful · 0").click()

    button = fern.get_by_role("button", name="Helpful · 1")
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(button).to_have_class(re.compile(r"\bis-on\b"))
    assert_accessible(page)

    page.reload()
    button = post_item(page, conversation.answer).get_by_role("button", name="Helpful · 1")
    expect(button).to_have_attribute("aria-pressed", "true")
    # Only the one post: Olive's reply is untouched.
    expect(post_item(page, conversation.nested).get_by_role("button", name="Helpful · 0")).to_have_attribute(
        "aria-pressed", "false"
    )
    assert_accessible(page)


def test_asker_accepts_an_answer_and_it_shows_at_the_top(page, live_server, world, conversation):
    log_in(page, live_server.url, world.member.email)
    visit(page, live_server.url + conversation.thread.get_absolute_url())
    expect(page.locator(".accepted-answer")).to_have_count(0)
    post_item(page, conversation.answer).get_by_role("button", name="Accept as answer").click()

    expect(page.get_by_role("status")).to_contain_text("Answer accepted.")
    box = page.get_by_role("complementary", name="Accepted answer")
    expect(box).to_contain_text("by Fern Facilitator")
    expect(box.locator("em")).to_have_text("abbey")
    # The box comes before the posts, and the post itself is marked.
    above = page.evaluate(
        "document.querySelector('.accepted-answer').compareDocumentPosition(document.getElementById('posts'))"
        " & Node.DOCUMENT_POSITION_FOLLOWING"
    )
    assert above
    fern = post_item(page, conversation.answer)
    expect(fern).to_have_class(re.compile(r"\bis-accepted\b"))
    expect(fern.locator(".badge-accepted")).to_have_text("Accepted answer")
    expect(fern.get_by_role("button", name="Unaccept answer")).to_be_visible()
    assert_accessible(page)


def test_facilitator_hides_a_post_its_author_sees_why_others_see_a_tombstone(page, live_server, world, conversation):
    slip = services.reply(world.member, conversation.thread, "Bed 4, Mr J. Smith, born 1941, was in pain.")
    factories.membership(world.outsider, world.public)  # a second plain member
    thread_url = live_server.url + conversation.thread.get_absolute_url()

    log_in(page, live_server.url, world.facilitator.email)
    visit(page, thread_url)
    post_item(page, slip).get_by_role("link", name="Hide").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hide this post")
    assert_accessible(page)
    page.get_by_label("Reason").fill("Contains patient details")
    page.get_by_role("button", name="Hide post").click()
    expect(page.get_by_role("status")).to_contain_text("The post is hidden. Its author sees your reason.")
    expect(page).to_have_url(re.compile(rf"#post-{slip.pk}$"))
    hidden = post_item(page, slip)
    expect(hidden).to_have_class(re.compile(r"\bis-hidden\b"))
    expect(hidden).to_contain_text("Hidden by a facilitator: Contains patient details")
    expect(hidden.get_by_role("button", name="Unhide")).to_be_visible()
    assert_accessible(page)
    log_out(page)

    log_in(page, live_server.url, world.member.email)
    visit(page, thread_url)
    mine = post_item(page, slip)
    expect(mine).to_contain_text(
        "Hidden by a facilitator: Contains patient details (only you and the facilitators can see this post)"
    )
    expect(mine).to_contain_text("Mr J. Smith")
    log_out(page)

    log_in(page, live_server.url, world.outsider.email)
    visit(page, thread_url)
    theirs = post_item(page, slip)
    expect(theirs.locator(".tombstone")).to_have_text("This post is hidden by a facilitator.")
    expect(theirs).not_to_contain_text("Mr J. Smith")
    expect(theirs).not_to_contain_text("Contains patient details")
    expect(page.locator("main")).not_to_contain_text("Smith")


def test_inline_reply_with_javascript_stays_on_the_page(page, live_server, world, conversation):
    thread_url = live_server.url + conversation.thread.get_absolute_url()
    log_in(page, live_server.url, world.member.email)
    visit(page, thread_url)
    page.evaluate("window.__marker = 1")

    fern = post_item(page, conversation.answer)
    fern.get_by_role("link", name="Reply to Fern Facilitator").click()
    slot = page.locator(f"#reply-slot-{conversation.answer.pk}")
    box = slot.get_by_label("Your reply")
    expect(box).to_be_focused()
    assert page.url == thread_url
    assert same_document(page)
    assert_accessible(page)

    box.fill("We pair it with a *night-time* family call.")
    slot.get_by_role("button", name="Post reply").click()
    new = slot.locator(".post.just-posted")
    expect(new.locator(".user-content em")).to_have_text("night-time")
    expect(new).to_be_focused()
    expect(slot.locator("form.reply-form")).to_have_count(0)
    assert page.url == thread_url
    assert same_document(page)
    reply = Post.objects.get(body__startswith="We pair it")
    assert reply.parent_id == conversation.answer.pk
    expect(new).to_have_attribute("id", f"post-{reply.pk}")
    assert_accessible(page)


def check_without_js(nojs, checker) -> None:
    """axe needs scripts: check the same page, same session, in the script-enabled ``checker`` page."""
    checker.context.add_cookies(nojs.context.cookies())
    visit(checker, nojs.url)


def test_reply_without_javascript_goes_to_the_reply_page_and_back(browser, page, live_server, world, conversation):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    try:
        nojs = context.new_page()
        thread_url = live_server.url + conversation.thread.get_absolute_url()
        log_in(nojs, live_server.url, world.member.email)
        nojs.goto(thread_url)
        check_without_js(nojs, page)

        post_item(nojs, conversation.answer).get_by_role("link", name="Reply to Fern Facilitator").click()
        expect(nojs).to_have_url(f"{thread_url}reply/?to={conversation.answer.pk}")
        expect(nojs.get_by_role("heading", level=1)).to_have_text("Reply to Fern Facilitator")
        expect(nojs.locator(".quoted-post")).to_contain_text("abbey")
        check_without_js(nojs, page)

        nojs.get_by_label("Your reply").fill("Without scripts it still works.")
        nojs.get_by_role("button", name="Post reply").click()
        expect(nojs.get_by_role("status")).to_contain_text("Your reply is posted.")
        reply = Post.objects.get(body="Without scripts it still works.")
        expect(nojs).to_have_url(f"{thread_url}#post-{reply.pk}")
        new = post_item(nojs, reply)
        expect(new).to_contain_text("Without scripts it still works.")
        expect(new).to_have_class(re.compile(r"\bindent-1\b"))
        assert reply.parent_id == conversation.answer.pk
        check_without_js(nojs, page)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        nojs.screenshot(path=str(SCREENSHOTS / "discussions-reply-without-javascript.png"), full_page=True)
    finally:
        context.close()


def test_failed_inline_reply_keeps_the_text_and_says_why(page, live_server, world, conversation, settings):
    log_in(page, live_server.url, world.member.email)
    visit(page, live_server.url + conversation.thread.get_absolute_url())
    fern = post_item(page, conversation.answer)
    fern.get_by_role("link", name="Reply to Fern Facilitator").click()
    fern.get_by_label("Your reply").fill("First thought: the abbey scale is quick.")
    fern.get_by_role("button", name="Post reply").click()
    expect(fern.locator(".post.just-posted")).to_contain_text("abbey scale is quick")

    # From now on the site refuses every post (no window to roll over: never flaky).
    settings.POST_RATE_LIMIT = "0/60"
    settings.NEW_ACCOUNT_POST_RATE_LIMIT = "0/60"
    olive = post_item(page, conversation.nested)
    olive.get_by_role("link", name="Reply to Olive Owner").click()
    text = "Second thought: hourly charting needs a second nurse."
    box = olive.get_by_label("Your reply")
    box.fill(text)
    olive.get_by_role("button", name="Post reply").click()
    expect(olive.get_by_role("alert")).to_contain_text("You're posting faster than this site allows")
    box = olive.get_by_label("Your reply")
    expect(box).to_have_value(text)
    assert not Post.objects.filter(body=text).exists()
    assert_accessible(page)

    # The connection drops: the text stays and the form says so.
    page.route(re.compile(r"/reply/$"), lambda route: route.abort())
    olive.get_by_role("button", name="Post reply").click()
    expect(olive.get_by_role("alert").filter(has_text="Couldn't reach the site")).to_be_visible()
    expect(olive.get_by_label("Your reply")).to_have_value(text)
    assert not Post.objects.filter(body=text).exists()
    assert_accessible(page)


def _deep_thread(world, conversation):
    """Olive and Fern go back and forth well past the last indent, with wide content."""
    thread = conversation.thread
    factories.replies(
        thread,
        6,
        by=[world.facilitator, world.owner],
        under=conversation.nested,
        nested=True,
        body="Level {depth}: still talking about charting.",
    )
    services.reply(
        world.member,
        thread,
        "A wide one:\n\n```\n"
        + "pain_score = painad(breathing, vocalisation, face, body, consolability) " * 2
        + "\n```\n\n| Tool | Items | Night use |\n|---|---|---|\n| PAINAD | 5 | yes |\n| Abbey | 6 | sometimes |\n\n"
        + "> A quote that someone wrote.\n\nhttps://example.org/"
        + "a-very-long-path-segment-" * 6,
        parent=conversation.answer,
    )
    services.accept_answer(world.member, thread, conversation.answer)
    services.toggle_helpful(world.member, conversation.answer)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_deep_thread_reads_on_a_phone_and_a_desktop(browser, live_server, world, conversation, scheme):
    _deep_thread(world, conversation)
    context = browser.new_context(viewport={"width": 360, "height": 800}, color_scheme=scheme)
    context.set_default_timeout(15_000)
    try:
        view = context.new_page()
        log_in(view, live_server.url, world.member.email)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for width in (360, 1280):
            view.set_viewport_size({"width": width, "height": 800})
            for url in (conversation.thread.get_absolute_url(), "/c/commons/"):
                visit(view, live_server.url + url)
                wide = view.evaluate("document.documentElement.scrollWidth")
                assert wide <= width, f"{url} scrolls sideways at {width}px ({scheme}): {wide}px wide"
            view.goto(live_server.url + conversation.thread.get_absolute_url())
            view.screenshot(path=str(SCREENSHOTS / f"discussions-thread-{width}-{scheme}.png"), full_page=True)
        # Past the last indent, the deepest replies stay readable on a phone.
        view.set_viewport_size({"width": 360, "height": 800})
        deepest = view.locator("#posts > li.post.indent-5 .user-content").last
        assert deepest.bounding_box()["width"] >= 240
    finally:
        context.close()
