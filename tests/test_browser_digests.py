"""Browser journeys for email: choosing a digest rhythm, previewing the digest, unsubscribing from a sent one."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import WEEKDAYS, User
from communities.models import Membership
from core.models import OutboundEmail
from digests import building, planning, unsubscribe
from digests.models import DigestRun
from discussions import services as discussions
from discussions.models import Thread
from tests.browser import SCREENSHOTS, assert_accessible, log_in, visit
from tests.worker import read_mail, text_of

pytestmark = pytest.mark.browser


def plan_and_build(now: datetime) -> dict[str, int]:
    """One beat tick at an explicit instant, run in this process: plan the due runs, then build them."""
    ids = planning.plan(now)
    return building.build(ids, now) if ids else {"queued": 0, "empty": 0, "skipped": 0}


def digests_to(user):
    return OutboundEmail.objects.filter(to=user.email, kind="digest")


def test_member_sets_weekly_digests_at_seven_in_their_own_time_zone(page, live_server, world, conversation):
    kolkata = ZoneInfo("Asia/Kolkata")  # UTC+05:30: 07:00 there is 01:30 UTC
    User.objects.filter(pk=world.member.pk).update(time_zone="Asia/Kolkata", digest_hour=18)
    Membership.objects.filter(user=world.member, community=world.public).update(digest_cadence="daily")
    discussions.start_thread(world.owner, world.public, title="Bedside handover, week one", body="How it went.")
    day = (timezone.now().astimezone(kolkata) + timedelta(days=2)).date()
    weekday = WEEKDAYS[day.weekday()]

    log_in(page, live_server.url, world.member.email)
    menu = page.get_by_role("navigation", name="Account")
    menu.locator("summary").click()
    menu.get_by_role("link", name="Email settings").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Email settings")
    expect(page.get_by_text("In your time zone, Asia/Kolkata")).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Ward Commons").select_option("weekly")
    page.get_by_label("Deliver digests at").select_option(label="07:00")
    page.get_by_label("Weekly digests arrive on").select_option(label=weekday)
    page.get_by_role("button", name="Save email settings").click()
    expect(page.locator(".messages")).to_contain_text("Your email settings are saved.")
    expect(page.get_by_label("Ward Commons")).to_have_value("weekly")
    expect(page.get_by_label("Deliver digests at")).to_have_value("7")
    expect(page.get_by_label("Weekly digests arrive on")).to_have_value(str(day.weekday()))
    assert_accessible(page)
    world.member.refresh_from_db()
    assert (world.member.digest_hour, world.member.digest_weekday) == (7, day.weekday())

    # Beat ticks at explicit instants in Mira's time zone.
    the_day_before = datetime.combine(day - timedelta(days=1), clock(7), tzinfo=kolkata)
    quarter_to = datetime.combine(day, clock(6, 45), tzinfo=kolkata)
    seven = datetime.combine(day, clock(7), tzinfo=kolkata)
    for not_yet in (the_day_before, quarter_to):
        plan_and_build(not_yet.astimezone(ZoneInfo("UTC")))
        assert not digests_to(world.member).exists(), f"nothing is due at {not_yet:%a %H:%M}"
    plan_and_build(seven.astimezone(ZoneInfo("UTC")))
    run = DigestRun.objects.get(user=world.member)
    assert (run.period, run.due_at, run.state) == (day.isoformat(), seven, DigestRun.State.QUEUED)
    mail = digests_to(world.member).get()
    assert mail.subject.startswith("1 new thread in Ward Commons")
    assert "Bedside handover, week one" in mail.body_text


def test_facilitator_previews_the_digest_as_a_peripheral_then_a_core_member(page, live_server, world, conversation):
    question = discussions.start_thread(
        world.owner, world.public, title="Who has tried a sleep round?", kind="question", body="Any tips?"
    )
    # Unanswered for two days: the digest invites members to help.
    Thread.objects.filter(pk=question.pk).update(created_at=timezone.now() - timedelta(days=2))

    log_in(page, live_server.url, world.facilitator.email)
    visit(page, f"{live_server.url}/c/commons/facilitate/")
    page.get_by_role("region", name="The digest").get_by_role("link", name="as a peripheral member").click()
    expect(page).to_have_url(re.compile(r"/c/commons/facilitate/digest-preview/\?level=peripheral$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Digest preview")
    preview = page.locator(".digest-preview")
    expect(preview.get_by_role("heading", level=2)).to_have_text("Ward Commons")
    expect(preview.get_by_role("heading", name="Can you help?")).to_be_visible()
    invitation = preview.locator("h3:text-is('Can you help?') + div > div")
    expect(invitation).to_contain_text("Question · asked by Olive Owner · No reply yet")
    expect(invitation.get_by_role("link", name="Who has tried a sleep round?")).to_be_visible()
    expect(invitation).to_contain_text("Any tips?")
    expect(preview.get_by_role("heading", name="New conversations")).to_be_visible()
    expect(preview.locator("h3:text-is('New conversations') + div")).to_contain_text(
        "How do you assess pain in delirium?"
    )
    assert_accessible(page)

    page.get_by_label("As a member who is").select_option(label="Core")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"\?level=core$"))
    expect(page.get_by_label("As a member who is")).to_have_value("core")
    expect(page.get_by_text("for a core member who has read nothing this week")).to_be_visible()
    expect(preview.locator("h3:text-is('Can you help?') + div > div")).to_have_count(1)
    assert_accessible(page)


def wait_for_mail_to(mail_dir, address: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in read_mail(mail_dir):
            if message["To"] == address:
                return message
        time.sleep(0.2)
    raise AssertionError(f"no email to {address} within {timeout}s")


def html_of(message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/html":
            return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
    raise AssertionError("no text/html part")


@pytest.mark.live_worker
def test_reader_unsubscribes_from_a_community_through_the_link_in_a_sent_digest(
    page, live_server, world, conversation, live_worker
):
    Membership.objects.filter(user=world.member, community=world.public).update(digest_cadence="daily")
    User.objects.filter(pk=world.member.pk).update(digest_hour=0)
    discussions.start_thread(world.owner, world.public, title="Bedside handover, week one", body="How it went.")
    assert plan_and_build(timezone.now() + timedelta(hours=1))["queued"] >= 1

    # The live worker's outbox sends the digest; read it as the reader's mail client would.
    message = wait_for_mail_to(live_worker.mail_dir, world.member.email)
    assert "Bedside handover, week one" in text_of(message)
    header = " ".join(message["List-Unsubscribe"].split())
    assert header.startswith(f"<{settings.SITE_URL}/email/unsubscribe/")
    [link] = re.findall(r'<a href="([^"]+)"[^>]*>Fewer emails from Ward Commons</a>', html_of(message))
    assert link.startswith(f"{settings.SITE_URL}/email/unsubscribe/") and link in text_of(message)

    # Not logged in: the signed link is enough. Opening it changes nothing yet.
    visit(page, live_server.url + link.removeprefix(settings.SITE_URL))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Email from")
    expect(page.get_by_text("You get a daily digest from Ward Commons.")).to_be_visible()
    expect(page.get_by_label("Fewer emails: a weekly digest instead")).to_be_checked()
    assert Membership.objects.get(user=world.member, community=world.public).digest_cadence == "daily"

    page.get_by_label("No more digests from Ward Commons").check()
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status")).to_have_text("Ward Commons: you'll get no more digests.")
    assert_accessible(page)
    assert Membership.objects.get(user=world.member, community=world.public).digest_cadence == "off"
    world.member.refresh_from_db()
    assert not world.member.email_paused  # only this community's digest stopped


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_email_pages_fit_a_phone(browser, live_server, world, conversation, scheme):
    context = browser.new_context(viewport={"width": 360, "height": 800}, color_scheme=scheme)
    context.set_default_timeout(15_000)
    try:
        view = context.new_page()
        log_in(view, live_server.url, world.facilitator.email)
        token = unsubscribe.make_token(world.facilitator.pk, world.public.pk)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for name, url in (
            ("settings", "/settings/email/"),
            ("preview", "/c/commons/facilitate/digest-preview/?level=peripheral"),
            ("unsubscribe", f"/email/unsubscribe/{token}/"),
        ):
            visit(view, live_server.url + url)
            wide = view.evaluate("document.documentElement.scrollWidth")
            assert wide <= 360, f"{url} scrolls sideways on a phone ({scheme}): {wide}px wide"
            view.screenshot(path=str(SCREENSHOTS / f"digests-{name}-360-{scheme}.png"), full_page=True)
    finally:
        context.close()
