"""Browser journey for hosted chats: scheduled in the form, answered live by two members, read as a record.

The chat runner is called from the test with explicit instants (the worker's
part is covered by tests/test_chats_live.py), so nobody waits for minutes;
the pages poll the live endpoint every 4 s and must show each other's answers
without a reload.
"""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from communities.models import Community
from discussions.models import Post
from events import services as events
from events.models import Event
from tests import factories
from tests.browser import SCREENSHOTS, assert_accessible, log_in, visit

pytestmark = pytest.mark.browser

UTC = ZoneInfo("UTC")
LIVE = 12_000  # ms: three polls of the page's 4 s poller
QUESTIONS = [
    "What brought you to this chat?",
    "Which pain scale do you use at night?",
    "What one thing would you change?",
]


def same_document(view) -> bool:
    """True while no page load happened since ``window.__marker`` was set (htmx swapped fragments in place)."""
    return view.evaluate("window.__marker === 1 && performance.getEntriesByType('navigation').length === 1")


def section(view, question: Post):
    return view.locator(f"#section-{question.pk}")


def answers(view, question: Post):
    return view.locator(f"#answers-{question.pk}")


def answer(view, question: Post, text: str) -> None:
    """Answer under one question with its own form (a plain POST: the page reloads for the one who answers)."""
    form = section(view, question).locator("form.chat-answer-form")
    form.get_by_label("Your answer").fill(text)
    form.get_by_role("button", name="Answer").click()
    expect(view.get_by_role("status")).to_contain_text("Your reply is posted.")


def member_page(browser, live_server, user):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    view = context.new_page()
    log_in(view, live_server.url, user.email)
    return context, view


def test_facilitator_schedules_a_chat_members_answer_live_and_the_record_reads_as_sections(
    page, browser, live_server, world, make_user
):
    base = live_server.url
    nia = make_user("nia", display_name="Nia Nightshift")
    factories.membership(nia, world.public)
    Community.objects.filter(pk=world.public.pk).update(member_count=4)

    # The facilitator schedules a hosted chat that has just started, in the browser.
    start = timezone.now().astimezone(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    log_in(page, base, world.facilitator.email)
    visit(page, f"{base}/c/commons/events/")
    page.get_by_role("link", name="Schedule an event").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Schedule an event")
    assert_accessible(page)
    page.get_by_label("Title").fill("Night pain chat")
    page.get_by_label("Hosted chat").check()
    page.get_by_label("Date", exact=True).fill(start.strftime("%Y-%m-%d"))
    page.get_by_label("Starts at").fill(start.strftime("%H:%M"))
    page.get_by_label("Length in minutes").fill("60")
    page.get_by_label("Time zone").select_option("UTC")
    page.get_by_label("Welcome").fill("Welcome to the **night pain** chat: answer under each question.")
    page.get_by_label("Questions").fill(f":00 {QUESTIONS[0]}\n:00 {QUESTIONS[1]}\n:01 {QUESTIONS[2]}")
    page.get_by_role("button", name="Schedule").click()

    expect(page.get_by_role("status")).to_contain_text("Event scheduled.")
    event = Event.objects.get(title="Night pain chat")
    expect(page).to_have_url(re.compile(rf"/c/commons/events/{event.pk}/$"))
    assert event.kind == "chat" and event.starts_at == start and event.ends_at == start + timedelta(minutes=60)
    assert [(q.minute, q.text) for q in event.questions.all()] == list(zip([0, 0, 1], QUESTIONS, strict=True))
    expect(page.locator(".chat-plan > li")).to_have_count(3)
    assert_accessible(page)

    # The beat at the start: the chat opens with the welcome and the two :00 questions.
    assert events.run_chats(start) == 2
    event.refresh_from_db()
    q1, q2 = [q.post for q in event.questions.all()[:2]]
    page.reload()
    page.get_by_role("link", name="Go to the chat").click()
    expect(page).to_have_url(re.compile(rf"/c/commons/t/{event.thread_id}/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Night pain chat")
    expect(page.locator(".badge-new")).to_have_text("Live now")
    assert_accessible(page)

    # Two members open the running chat.
    contexts = []
    try:
        context_a, mira = member_page(browser, live_server, world.member)
        contexts.append(context_a)
        context_b, nia_view = member_page(browser, live_server, nia)
        contexts.append(context_b)
        chat_url = base + event.thread.get_absolute_url()
        visit(mira, chat_url)
        visit(nia_view, chat_url)
        for view in (mira, nia_view):
            expect(view.locator(".chat-section h2")).to_have_text(["Q1. " + QUESTIONS[0], "Q2. " + QUESTIONS[1]])
        nia_view.evaluate("window.__marker = 1")

        # Mira answers under Q1; Nia's page shows it under Q1 by itself.
        answer(mira, q1, "Night shifts made me **curious** about PAINAD.")
        mira_answer = Post.objects.get(thread=event.thread, author=world.member)
        assert mira_answer.parent_id == q1.pk
        expect(answers(nia_view, q1)).to_contain_text("Night shifts made me curious about PAINAD.", timeout=LIVE)
        expect(answers(nia_view, q1).locator(f"#post-{mira_answer.pk}")).to_be_visible()
        expect(answers(nia_view, q2).locator("li.post")).to_have_count(0)
        assert same_document(nia_view)

        # Nia answers under Q2 while Mira keeps reading; Mira's page shows it without a reload.
        mira.evaluate("window.__marker = 1")
        answer(nia_view, q2, "Abbey, because residents can't always say.")
        nia_answer = Post.objects.get(thread=event.thread, author=nia)
        assert nia_answer.parent_id == q2.pk
        expect(answers(mira, q2)).to_contain_text("Abbey, because residents can't always say.", timeout=LIVE)
        expect(answers(mira, q1)).to_contain_text("Night shifts made me curious")
        assert same_document(mira)

        # Minute :01: the third question appears as a new section on both open pages.
        assert events.run_chats(start + timedelta(minutes=1)) == 1
        q3 = event.questions.get(position=3).post
        typing = "Half-written while Q3 arrives"
        section(mira, q1).get_by_label("Your answer").fill(typing)
        expect(section(mira, q3).get_by_role("heading", level=2)).to_have_text("Q3. " + QUESTIONS[2], timeout=LIVE)
        expect(section(mira, q1).get_by_label("Your answer")).to_have_value(typing)  # forms are never replaced
        assert same_document(mira)
        expect(section(nia_view, q3).get_by_role("heading", level=2)).to_be_visible(timeout=LIVE)
        expect(nia_view.locator("#chat-sections > .chat-section")).to_have_count(3)
        assert_accessible(mira)
        mira.screenshot(path=str(_screenshot("chat-live-1280-light.png")), full_page=True)
    finally:
        for context in contexts:
            context.close()

    # Afterwards: the chat is over and the page is its record, questions as section headings.
    Event.objects.filter(pk=event.pk).update(starts_at=start - timedelta(hours=2), ends_at=start - timedelta(hours=1))
    page.reload()
    expect(page.locator(".thread-head")).to_contain_text("Ended: the record")
    expect(page.locator("#chat-poller")).to_have_count(0)
    expect(page.get_by_text("New answers appear by themselves")).to_have_count(0)
    headings = page.locator("#chat-sections > .chat-section > h2.chat-question")
    expect(headings).to_have_text([f"Q{n}. {text}" for n, text in enumerate(QUESTIONS, 1)])
    record = page.locator("#chat-sections > .chat-section")
    expect(record.nth(0).locator(".chat-answers > li.post")).to_have_count(1)
    expect(record.nth(0).locator(".chat-answers")).to_contain_text("Night shifts made me curious about PAINAD.")
    expect(record.nth(1).locator(".chat-answers > li.post")).to_have_count(1)
    expect(record.nth(1).locator(".chat-answers")).to_contain_text("Abbey, because residents can't always say.")
    expect(record.nth(2).locator(".chat-answers > li.post")).to_have_count(0)
    # In reading order: the welcome, then each heading followed by its own answers.
    order = page.evaluate(
        """() => Array.from(document.querySelectorAll('.chat .post-list > li.post, .chat-question'))
                 .map(el => el.matches('.chat-question') ? 'Q' : el.id)"""
    )
    assert order == [
        f"post-{event.thread.opening_post_id}",
        "Q",
        f"post-{mira_answer.pk}",
        "Q",
        f"post-{nia_answer.pk}",
        "Q",
    ]
    assert_accessible(page)

    # The record on a phone, in both themes: no sideways scrolling, still accessible.
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        for width in (360, 1280):
            page.set_viewport_size({"width": width, "height": 800})
            wide = page.evaluate("document.documentElement.scrollWidth")
            assert wide <= width, f"the chat record scrolls sideways at {width}px ({scheme}): {wide}px wide"
            page.screenshot(path=str(_screenshot(f"chat-record-{width}-{scheme}.png")), full_page=True)
        assert_accessible(page)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.emulate_media(color_scheme="light")


def _screenshot(name: str):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / name


def _running_chat(world, questions):
    event = factories.event(
        world.facilitator, world.public, title="Running chat", starts=timedelta(minutes=-5), questions=questions
    )
    return event, event.starts_at


def test_a_question_that_appears_live_can_be_answered_without_a_reload(page, live_server, world):
    event, start = _running_chat(world, [(0, "First?"), (10, "Second?")])
    events.run_chats(start)
    event.refresh_from_db()
    q1 = event.questions.get(position=1).post
    log_in(page, live_server.url, world.member.email)
    page.goto(live_server.url + event.thread.get_absolute_url())
    page.evaluate("window.__marker = 1")
    from discussions import services

    reply = services.reply(world.owner, event.thread, "An answer that arrives live", parent=q1)
    events.run_chats(start + timedelta(minutes=10))
    q2 = event.questions.get(position=2).post
    expect(section(page, q2).get_by_role("heading", level=2)).to_be_visible(timeout=LIVE)
    expect(page.locator(f"#post-{reply.pk}")).to_be_visible()
    assert same_document(page)
    expect(page.locator(f"#post-{reply.pk}").get_by_role("link", name=re.compile("^Reply"))).to_be_visible(
        timeout=1_000
    )
    expect(section(page, q2).get_by_label("Your answer")).to_be_visible(timeout=1_000)


def test_a_past_chat_on_the_calendar_offers_its_record(page, live_server, world):
    event, start = _running_chat(world, [(0, "First?")])
    events.run_chats(start)
    Event.objects.filter(pk=event.pk).update(starts_at=start - timedelta(days=1), ends_at=start - timedelta(hours=23))
    visit(page, f"{live_server.url}/c/commons/events/")
    past = page.locator("section[aria-labelledby=past-heading] .event-row")
    expect(past).to_have_count(1)
    expect(past.get_by_role("link", name="Read the chat")).to_be_visible(timeout=1_000)


def test_a_page_far_behind_catches_up_batch_by_batch_without_a_reload(page, live_server, world):
    """A flood of answers (more than one live answer holds) all reach the open page, in place."""
    from tests.test_chat_live_view import LIVE_BATCH
    from tests.test_chat_live_view import answers as flood

    event, start = _running_chat(world, [(0, "First?")])
    events.run_chats(start)
    event.refresh_from_db()
    q1 = event.questions.get(position=1).post
    log_in(page, live_server.url, world.member.email)
    page.goto(live_server.url + event.thread.get_absolute_url())
    page.evaluate("window.__marker = 1")
    made = flood(event, 2 * LIVE_BATCH + 30, q1, [world.owner, world.facilitator])
    expect(answers(page, q1).locator("li.post")).to_have_count(len(made), timeout=LIVE)
    expect(page.locator(f"#post-{made[-1].pk}")).to_be_visible()
    assert same_document(page)
    # Caught up, the page polls every few seconds again.
    expect(page.locator("#chat-poller")).to_have_attribute("hx-trigger", "every 4s")
    expect(page.locator("#chat-poller")).to_have_attribute("hx-get", re.compile(rf"after={made[-1].pk}$"))
