"""Browser journey: a visitor watching a running hosted chat logs in, joins to answer and answers, on a phone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from communities.models import Membership
from discussions.models import Post
from events import services as events
from tests import factories
from tests.browser import PASSWORD, assert_accessible, visit

pytestmark = pytest.mark.browser


def test_a_visitor_watching_a_chat_logs_in_joins_and_answers_from_a_phone(page, live_server, world, make_user):
    base = live_server.url
    event = factories.event(
        world.facilitator,
        world.public,
        title="Night pain chat",
        starts=timedelta(minutes=-10),
        welcome="Welcome, everyone.",
        questions=((0, "Which scale do you use at night?"),),
    )
    events.run_chats(timezone.now())
    event.refresh_from_db()
    question = event.questions.get().post
    chat_url = base + event.thread.get_absolute_url()
    newcomer = make_user("ravi", display_name="Ravi Rounds")
    page.set_viewport_size({"width": 390, "height": 844})

    # Logged out: the chat reads, and offers a log-in that comes back here.
    visit(page, chat_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Night pain chat")
    expect(page.get_by_text("Which scale do you use at night?")).to_be_visible()
    expect(page.get_by_label("Your answer")).to_have_count(0)
    page.get_by_role("link", name="Log in to answer").click()
    page.get_by_label("Email").fill(newcomer.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    # Back on the chat as a non-member: one button joins and returns here.
    expect(page).to_have_url(chat_url)
    expect(page.get_by_label("Your answer")).to_have_count(0)
    assert_accessible(page)
    page.get_by_role("button", name="Join to answer").click()
    expect(page).to_have_url(chat_url)
    assert Membership.objects.get(user=newcomer, community=world.public).state == Membership.State.ACTIVE
    expect(page.get_by_role("button", name="Join to answer")).to_have_count(0)

    # The answer box is there now; the answer lands under the question.
    form = page.locator(f"#section-{question.pk} form.chat-answer-form")
    form.get_by_label("Your answer").fill("Abbey, because residents can't always say.")
    form.get_by_role("button", name="Answer").click()
    expect(page.get_by_role("status")).to_contain_text("Your reply is posted.")
    expect(page.locator(f"#answers-{question.pk}")).to_contain_text("Abbey, because residents can't always say.")
    answer = Post.objects.get(thread=event.thread, author=newcomer)
    assert answer.parent_id == question.pk
    # Nothing overflows the phone's width.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
