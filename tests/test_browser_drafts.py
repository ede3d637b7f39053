"""Drafts in the browser: a posted text never comes back into its box; a refused one always does.

Every posting form keeps what is typed in localStorage (static/js/site.js),
and only the server's answer to a successful post ends the draft
(core/drafts.py). The bug this guards: after "Reply to the thread" the page
came back with the posted text in the box again (the saved draft was put
back before the success message cleared it), and a second click posted it
twice. Each journey posts twice in a row from the same browser, reloading
in between, and counts the posts: exactly the ones sent, none twice.
Both ways of sending are covered: a plain form submit (the page reloads) and
htmx (the form is swapped in place); "no htmx" also means htmx failing to load.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from discussions.models import Post, Thread
from events import services as events
from events.models import Event
from resources.models import Resource
from tests import factories
from tests.browser import assert_accessible, drafts_settled, log_in, visit

pytestmark = pytest.mark.browser


def without_htmx(pw_page) -> None:
    """htmx never loads (a blocked script, an old proxy): site.js alone, every form a plain submit."""
    pw_page.route(re.compile(r".*/htmx-2(\.min)?\.js$"), lambda route: route.abort())


def bottom_box(pw_page):
    return pw_page.get_by_role("region", name="Reply to the thread").get_by_label("Your reply")


def replies_by(user, thread: Thread) -> list[str]:
    return list(
        Post.objects.filter(thread=thread, author=user, depth__gt=0).order_by("pk").values_list("body", flat=True)
    )


def post_from_bottom_box(pw_page, text: str) -> None:
    bottom_box(pw_page).fill(text)
    pw_page.get_by_role("region", name="Reply to the thread").get_by_role("button", name="Post reply").click()
    expect(pw_page.get_by_role("status")).to_contain_text("Your reply is posted.")


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx-loaded", "htmx-blocked"])
def test_reply_to_the_thread_box_is_empty_after_posting_and_a_reload(page, live_server, world, conversation, htmx):
    if not htmx:
        without_htmx(page)
    log_in(page, live_server.url, world.member.email)
    visit(page, live_server.url + conversation.thread.get_absolute_url())

    post_from_bottom_box(page, "Night staff use the abbey scale too.")
    expect(bottom_box(page)).to_have_value("")  # the page the post leads to
    page.reload()
    drafts_settled(page)
    expect(bottom_box(page)).to_have_value("")
    assert_accessible(page)

    # The second post is the second text, not the first one again.
    post_from_bottom_box(page, "And we chart it every two hours.")
    page.reload()
    drafts_settled(page)
    expect(bottom_box(page)).to_have_value("")
    assert replies_by(world.member, conversation.thread) == [
        "Night staff use the abbey scale too.",
        "And we chart it every two hours.",
    ]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_on_a_phone_the_reply_box_posts_each_text_once(browser, live_server, world, conversation, scheme):
    """The same journey at 390 px, in both colour schemes: the box is reachable, posts once, comes back empty."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme=scheme)
    context.set_default_timeout(15_000)
    phone = context.new_page()
    try:
        log_in(phone, live_server.url, world.member.email)
        visit(phone, live_server.url + conversation.thread.get_absolute_url())
        for text in ("First from the phone.", "Second from the phone."):
            post_from_bottom_box(phone, text)
            phone.reload()
            drafts_settled(phone)
            expect(bottom_box(phone)).to_have_value("")
            assert_accessible(phone)
        # Nothing wider than the screen: the box and its button fit a phone.
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        assert replies_by(world.member, conversation.thread) == ["First from the phone.", "Second from the phone."]
    finally:
        context.close()


def test_inline_reply_with_htmx_is_gone_from_the_box_after_posting_and_a_reload(page, live_server, world, conversation):
    log_in(page, live_server.url, world.member.email)
    visit(page, live_server.url + conversation.thread.get_absolute_url())
    fern = page.locator(f"#post-{conversation.answer.pk}")
    page.evaluate("window.__marker = 1")

    for text in ("Abbey works on nights for us.", "We pair it with PAINAD."):
        fern.get_by_role("link", name="Reply to Fern Facilitator").click()
        box = fern.get_by_label("Your reply")
        expect(box).to_be_visible()
        drafts_settled(page)
        expect(box).to_have_value("")  # nothing comes back from the reply before
        box.fill(text)
        fern.get_by_role("button", name="Post reply").click()
        expect(fern.locator(".post.just-posted").last).to_contain_text(text)
        assert page.evaluate("window.__marker") == 1  # htmx: no page load
        page.reload()
        drafts_settled(page)
        page.evaluate("window.__marker = 1")
    fern.get_by_role("link", name="Reply to Fern Facilitator").click()
    expect(fern.get_by_label("Your reply")).to_be_visible()
    drafts_settled(page)
    expect(fern.get_by_label("Your reply")).to_have_value("")
    assert_accessible(page)
    assert replies_by(world.member, conversation.thread) == ["Abbey works on nights for us.", "We pair it with PAINAD."]
    assert set(Post.objects.filter(author=world.member, depth__gt=0).values_list("parent_id", flat=True)) == {
        conversation.answer.pk
    }


def test_inline_reply_without_htmx_posts_from_the_reply_page_and_its_box_comes_back_empty(
    page, live_server, world, conversation
):
    without_htmx(page)
    log_in(page, live_server.url, world.member.email)
    thread_url = live_server.url + conversation.thread.get_absolute_url()
    for text in ("Abbey works on nights for us.", "We pair it with PAINAD."):
        visit(page, thread_url)
        page.locator(f"#post-{conversation.answer.pk}").get_by_role("link", name="Reply to Fern Facilitator").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Reply to Fern Facilitator")  # its own page
        drafts_settled(page)
        expect(page.get_by_label("Your reply")).to_have_value("")
        page.get_by_label("Your reply").fill(text)
        page.get_by_role("button", name="Post reply").click()
        expect(page.get_by_role("status")).to_contain_text("Your reply is posted.")
        page.go_back()  # back on the reply page, then a fresh load of it
        page.reload()
        drafts_settled(page)
        expect(page.get_by_label("Your reply")).to_have_value("")
    assert replies_by(world.member, conversation.thread) == ["Abbey works on nights for us.", "We pair it with PAINAD."]


def test_hosted_chat_answer_box_is_empty_after_answering_and_a_reload(page, live_server, world):
    event = factories.event(
        world.facilitator,
        world.public,
        title="Night pain chat",
        starts=timedelta(minutes=-1),
        questions=[(0, "Which pain scale do you use at night?")],
    )
    events.run_chats(event.starts_at)
    event.refresh_from_db()
    question = event.questions.get().post
    log_in(page, live_server.url, world.member.email)
    visit(page, live_server.url + event.thread.get_absolute_url())
    section = page.locator(f"#section-{question.pk}")

    for text in ("Abbey, on every ward.", "PAINAD when they can't say."):
        section.get_by_label("Your answer").fill(text)
        section.get_by_role("button", name="Answer").click()
        expect(page.get_by_role("status")).to_contain_text("Your reply is posted.")
        expect(section.locator(".chat-answers")).to_contain_text(text)
        expect(section.get_by_label("Your answer")).to_have_value("")  # the page the answer leads to
        page.reload()
        drafts_settled(page)
        expect(section.get_by_label("Your answer")).to_have_value("")
    assert_accessible(page)
    assert replies_by(world.member, event.thread) == ["Abbey, on every ward.", "PAINAD when they can't say."]


def test_new_thread_form_is_empty_after_posting_and_a_reload(page, live_server, world):
    log_in(page, live_server.url, world.member.email)
    start = f"{live_server.url}/c/commons/threads/new/"
    for title, body in (("Night rounds", "What do you check first?"), ("Handover notes", "Paper or screen?")):
        visit(page, start)
        drafts_settled(page)
        expect(page.get_by_label("Title")).to_have_value("")
        expect(page.get_by_label("Your post")).to_have_value("")
        page.get_by_label("Title").fill(title)
        page.get_by_label("Your post").fill(body)
        page.get_by_role("button", name="Post thread").click()
        expect(page.get_by_role("status")).to_contain_text("Your thread is posted.")
        page.go_back()
        page.reload()
        drafts_settled(page)
        expect(page.get_by_label("Title")).to_have_value("")
        expect(page.get_by_label("Your post")).to_have_value("")
    assert list(Thread.objects.filter(author=world.member).order_by("pk").values_list("title", flat=True)) == [
        "Night rounds",
        "Handover notes",
    ]


def test_new_resource_form_keeps_a_draft_until_the_resource_is_added(page, live_server, world):
    log_in(page, live_server.url, world.member.email)
    add = f"{live_server.url}/c/commons/library/add/"
    visit(page, add)
    page.get_by_label("How-to").check()
    page.get_by_label("Title", exact=True).fill("Night handover checklist")
    page.get_by_label("Description").fill("Five things to **check** before you leave.")
    page.reload()  # a draft, nothing sent yet: the text is kept
    drafts_settled(page)
    expect(page.get_by_label("Title", exact=True)).to_have_value("Night handover checklist")
    expect(page.get_by_label("Description")).to_have_value("Five things to **check** before you leave.")
    for title in ("Night handover checklist", "Pain diary template"):
        page.get_by_label("How-to").check()
        if title != "Night handover checklist":
            page.get_by_label("Title", exact=True).fill(title)
            page.get_by_label("Description").fill("A page a day.")
        page.get_by_role("button", name="Add to the library").click()
        expect(page.get_by_role("status")).to_contain_text("Added to the library.")
        visit(page, add)
        page.reload()
        drafts_settled(page)
        expect(page.get_by_label("Title", exact=True)).to_have_value("")
        expect(page.get_by_label("Description")).to_have_value("")
    assert list(Resource.objects.filter(added_by=world.member).order_by("pk").values_list("title", flat=True)) == [
        "Night handover checklist",
        "Pain diary template",
    ]


def test_new_event_form_keeps_a_draft_until_the_event_is_scheduled(page, live_server, world):
    log_in(page, live_server.url, world.facilitator.email)
    schedule = f"{live_server.url}/c/commons/events/new/"
    for title in ("Night pain chat", "Handover huddle"):
        visit(page, schedule)
        drafts_settled(page)
        expect(page.get_by_label("Title")).to_have_value("")
        expect(page.get_by_label("Description")).to_have_value("")
        page.get_by_label("Title").fill(title)
        page.get_by_label("In person").check()
        page.get_by_label("Date", exact=True).fill("2031-03-04")
        page.get_by_label("Starts at").fill("19:00")
        page.get_by_label("Description").fill(f"About {title.lower()}.")
        place = page.get_by_role("textbox", name="Place (optional)")  # not the time zone's "Find a place"
        place.fill("Ward 5 day room")
        page.get_by_role("button", name="Schedule").click()
        expect(page.get_by_role("status")).to_contain_text("Event scheduled.")
        page.go_back()
        page.reload()
        drafts_settled(page)
        for box in (page.get_by_label("Title"), page.get_by_label("Description"), place):
            expect(box).to_have_value("")
    assert list(Event.objects.filter(community=world.public).order_by("pk").values_list("title", flat=True)) == [
        "Night pain chat",
        "Handover huddle",
    ]


# --- Refused sends keep the text ---------------------------------------------------------------


def test_a_rate_limited_reply_keeps_its_draft_even_after_another_success_message(
    page, live_server, world, conversation, settings
):
    settings.NEW_ACCOUNT_POST_RATE_LIMIT = "1/60"
    log_in(page, live_server.url, world.member.email)
    visit(page, live_server.url + conversation.thread.get_absolute_url())
    post_from_bottom_box(page, "The one reply allowed this minute.")

    bottom_box(page).fill("Sent too fast: keep me.")
    page.get_by_role("region", name="Reply to the thread").get_by_role("button", name="Post reply").click()
    expect(page.get_by_role("alert")).to_contain_text("You're posting faster than this site allows.")
    expect(page.get_by_label("Your reply")).to_have_value("Sent too fast: keep me.")

    # Another action's success message says nothing about this draft.
    visit(page, live_server.url + conversation.thread.get_absolute_url())
    page.locator(f"#post-{conversation.answer.pk}").get_by_role("button", name="Accept as answer").click()
    expect(page.get_by_role("status")).to_contain_text("Answer accepted.")
    page.reload()
    drafts_settled(page)
    expect(bottom_box(page)).to_have_value("Sent too fast: keep me.")
    assert replies_by(world.member, conversation.thread) == ["The one reply allowed this minute."]


def test_a_reply_refused_by_the_form_keeps_its_draft(page, live_server, world, conversation):
    log_in(page, live_server.url, world.member.email)
    visit(page, live_server.url + conversation.thread.get_absolute_url())
    # More lines than the renderer takes (the form says why and keeps the text).
    text = "line\n" * 1001
    bottom_box(page).fill(text)
    page.get_by_role("region", name="Reply to the thread").get_by_role("button", name="Post reply").click()
    expect(page.locator(".errorlist")).to_be_visible()
    visit(page, live_server.url + conversation.thread.get_absolute_url())
    expect(bottom_box(page)).to_have_value(text)
    assert replies_by(world.member, conversation.thread) == []


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx-inline", "plain-bottom-box"])
def test_a_reply_lost_on_the_way_keeps_its_draft(page, live_server, world, conversation, htmx):
    log_in(page, live_server.url, world.member.email)
    thread_url = live_server.url + conversation.thread.get_absolute_url()
    visit(page, thread_url)
    reply_path = f"/c/commons/t/{conversation.thread.pk}/reply/"
    page.route(re.compile(re.escape(reply_path) + r"$"), lambda route: route.abort("connectionreset"))
    if htmx:
        fern = page.locator(f"#post-{conversation.answer.pk}")
        fern.get_by_role("link", name="Reply to Fern Facilitator").click()
        fern.get_by_label("Your reply").fill("Lost on the way, kept here.")
        fern.get_by_role("button", name="Post reply").click()
        expect(fern.get_by_role("alert")).to_contain_text("your text is still here")
        expect(fern.get_by_label("Your reply")).to_have_value("Lost on the way, kept here.")
    else:
        bottom_box(page).fill("Lost on the way, kept here.")
        page.get_by_role("region", name="Reply to the thread").get_by_role("button", name="Post reply").click()
        page.wait_for_load_state()
    page.unroute(re.compile(re.escape(reply_path) + r"$"))
    visit(page, thread_url)
    if htmx:
        fern = page.locator(f"#post-{conversation.answer.pk}")
        fern.get_by_role("link", name="Reply to Fern Facilitator").click()
        expect(fern.get_by_label("Your reply")).to_have_value("Lost on the way, kept here.")
    else:
        expect(bottom_box(page)).to_have_value("Lost on the way, kept here.")
    assert replies_by(world.member, conversation.thread) == []
