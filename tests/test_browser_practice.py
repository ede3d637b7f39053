"""Browser journey for the research-to-practice loop: commit, the clock moves on, report back from the
notification and from the digest, the resource shows what happened, the facilitator's report counts it."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from practice.tasks import ask_due
from resources.models import Resource
from tests import factories
from tests.browser import assert_accessible, log_in, log_out, visit
from tests.test_digest_content import digest_of, only, send, subscribe

pytestmark = pytest.mark.browser
SHOTS = Path("/work/notes/shots")


def test_a_member_commits_is_asked_a_month_later_and_reports_back(page, live_server, world, make_user):
    resource = factories.resource(
        world.owner,
        world.public,
        kind=Resource.Kind.RESEARCH,
        title="Behavioural pain scales in delirium",
        citation_title="Observational pain scales in older adults with delirium",
        citation_link="PMID: 31978945",
        summary="Behavioural scales were **reliable** when self-report failed.",
        in_practice="Score at the same time as obs.",
        try_this="Score one confused patient with a behavioural scale on your next shift.",
    )
    nia = make_user("nia", display_name="Nia Nightshift")
    factories.membership(nia, world.public)
    subscribe(nia, world.public)
    only(nia, world.public)

    # A member says, with one click, that they'll try it.
    log_in(page, live_server.url, world.member.email)
    visit(page, f"{live_server.url}{resource.get_absolute_url()}")
    expect(page.get_by_role("link", name="PMID: 31978945")).to_have_attribute(
        "href", "https://pubmed.ncbi.nlm.nih.gov/31978945/"
    )
    page.get_by_role("button", name="I’ll try this").click()
    expect(page.get_by_text("In 30 days we'll ask how it went.")).to_be_visible()
    expect(page.get_by_text("You said you’d try this.")).to_be_visible()
    assert_accessible(page)
    log_out(page)
    # Nia commits too, with a note.
    from practice import services

    services.commit(nia, Resource.objects.get(pk=resource.pk), note="Night shift, bay 3")

    # Thirty days pass: the hourly task asks each of them once, however often it runs.
    future = (timezone.now() + timedelta(days=30, minutes=1)).isoformat()
    assert ask_due.apply(kwargs={"now": future}).get() == 2
    assert ask_due.apply(kwargs={"now": future}).get() == 0
    # (The asks are dated when the clock says: bring them back to now for the bell and the digest.)
    from notifications.models import Notification

    Notification.objects.filter(kind="practice_ask").update(created_at=timezone.now() - timedelta(minutes=5))

    # The member answers from the notification.
    log_in(page, live_server.url, world.member.email)
    visit(page, f"{live_server.url}/notifications/")
    page.get_by_role("button", name=re.compile("^Did you try it\\? What happened\\?")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Did you try it? What happened?")
    assert_accessible(page)
    page.get_by_label("Tried it, and it helped").check()
    page.get_by_label("Tell the story").fill("Scored two confused patients at obs time; the night team kept it up.")
    page.get_by_role("button", name="Send my report").click()
    expect(page.get_by_text("Thank you: your report is on the resource's page.")).to_be_visible()
    loop = page.get_by_role("region", name="Tried in practice")
    expect(loop.get_by_role("row", name="Tried it, and it helped 1")).to_be_visible()
    expect(loop.get_by_role("link", name="Mira Member, in the discussion")).to_be_visible()
    log_out(page)

    # Nia answers from her digest's link.
    send()
    mail = digest_of(nia)
    link = re.search(r"http://\S+(/practice/asked/\d+/)", mail.body_text)
    assert link is not None
    log_in(page, live_server.url, nia.email)
    visit(page, f"{live_server.url}{link.group(1)}")
    page.get_by_label("Tried it, no difference").check()
    page.get_by_role("button", name="Send my report").click()
    loop = page.get_by_role("region", name="Tried in practice")
    expect(loop).to_contain_text("2 members said they’d try this; 2 tried it and reported back")
    expect(loop.get_by_role("row", name="Tried it, no difference 1")).to_be_visible()
    assert_accessible(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.get_by_role("region", name="Tried in practice").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "loop-resource.png"), full_page=True)
    log_out(page)

    # The story is a reply in the resource's discussion.
    log_in(page, live_server.url, world.facilitator.email)
    visit(page, f"{live_server.url}{resource.get_absolute_url()}")
    page.get_by_role("link", name="Mira Member, in the discussion").click()
    expect(page.get_by_text("Scored two confused patients at obs time")).to_be_visible()

    # The facilitator's report counts them, in a table and a chart, with a CSV.
    visit(page, f"{live_server.url}/c/commons/facilitate/")
    page.get_by_role("link", name="Open the practice report").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Research into practice")
    expect(page.get_by_role("img", name="Commitments and report-backs per month")).to_be_visible()
    months = page.get_by_role("table").filter(has_text="Per month, all resources")
    # Month, committed, reported back, helped, no difference, didn't work, not yet, not applicable.
    expect(months.get_by_role("row", name=re.compile(r"^\w+ \d{4} 2 2 1 1 0 0 0$"))).to_be_visible()
    expect(page.get_by_role("link", name="Download CSV")).to_be_visible()
    assert_accessible(page)
    page.screenshot(path=str(SHOTS / "loop-facilitator-report.png"), full_page=True)
