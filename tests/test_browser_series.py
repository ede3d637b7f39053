"""Browser journey for recurring events: a weekly series scheduled in the form, a member answers for the
second occurrence, the facilitator changes "this and following", and the member's answer is still there."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from events.models import RSVP, Event, EventSeries
from events.recurrence import WEEKDAY_NAMES
from tests.browser import assert_accessible, log_in, visit

pytestmark = pytest.mark.browser


def test_a_member_keeps_their_answer_when_the_facilitator_edits_this_and_following(page, browser, live_server, world):
    base = live_server.url
    first_day = timezone.now().date() + timedelta(days=7)
    weekday = WEEKDAY_NAMES[first_day.weekday()]

    # The facilitator schedules a weekly call, six times.
    log_in(page, base, world.facilitator.email)
    visit(page, f"{base}/c/commons/events/new/")
    page.get_by_label("Title").fill("Night shift huddle")
    page.get_by_label("Call or online meetup").check()
    page.get_by_label("Date", exact=True).fill(first_day.isoformat())
    page.get_by_label("Starts at").fill("18:00")
    page.get_by_label("Length in minutes").fill("45")
    page.get_by_label("Time zone").select_option("Europe/London")
    page.get_by_label("Meeting link").fill("https://meet.example.org/huddle")
    page.get_by_label("Repeats").select_option("weekly")
    page.get_by_label(weekday, exact=True).check()
    page.get_by_label("Or after this many times").fill("6")
    page.get_by_role("button", name="Schedule").click()
    expect(page.get_by_role("status")).to_contain_text("Series scheduled")
    expect(page.locator(".event-series")).to_contain_text(f"Every week on {weekday}, 6 times")
    assert_accessible(page)
    occurrences = list(Event.objects.order_by("starts_at"))
    assert len(occurrences) == 6
    second = occurrences[1]

    # A member answers "Going" for the second occurrence, from the calendar.
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    try:
        member = context.new_page()
        log_in(member, base, world.member.email)
        visit(member, f"{base}/c/commons/events/")
        expect(member.locator(".event-row")).to_have_count(6)
        member.locator(".event-row").nth(1).get_by_role("link", name="Night shift huddle").click()
        expect(member).to_have_url(re.compile(rf"/c/commons/events/{second.pk}/$"))
        member.get_by_role("button", name="Going", exact=True).click()
        expect(member.get_by_role("status")).to_contain_text("you answered: going")

        # The facilitator renames this and the following occurrences (same time).
        visit(page, f"{base}/c/commons/events/{second.pk}/edit/")
        page.get_by_label("This and following occurrences").check()
        page.get_by_label("Title").fill("Night shift huddle (new format)")
        page.get_by_role("button", name="Save changes").click()
        expect(page.get_by_role("status")).to_contain_text("This and the following occurrences are updated.")
        expect(page.get_by_role("heading", level=1)).to_have_text("Night shift huddle (new format)")
        assert EventSeries.objects.count() == 2

        # The member's answer is still there.
        member.reload()
        expect(member.get_by_role("heading", level=1)).to_have_text("Night shift huddle (new format)")
        expect(member.get_by_role("button", name="Going", exact=True)).to_have_attribute("aria-pressed", "true")
        expect(member.get_by_text("1 going · 0 maybe")).to_be_visible()
        assert_accessible(member)
        assert RSVP.objects.get(user=world.member).event_id == second.pk
        visit(member, f"{base}/c/commons/events/")
        expect(member.locator(".event-row").nth(0)).to_contain_text("Night shift huddle")
        expect(member.locator(".event-row").nth(1)).to_contain_text("(new format)")
    finally:
        context.close()
