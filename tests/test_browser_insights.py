"""Browser journey: a facilitator reads the community health page on a phone (390 px), light and dark,
changes the date range, downloads the CSV, and declares a beat of the community's rhythm."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from communities import participation
from communities.models import LevelSnapshot
from tests.browser import assert_accessible, log_in, visit

pytestmark = pytest.mark.browser


def fits(page, width: int) -> None:
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= width, f"{page.url} scrolls sideways at {width}px: {wide}px wide"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_facilitator_reads_health_on_a_phone_changes_the_range_and_downloads_csv(page, live_server, world, scheme):
    monday = participation.week_of(timezone.now().date())
    LevelSnapshot.objects.bulk_create(
        LevelSnapshot(
            community=world.public, week=monday - timedelta(weeks=w), core=2, active=5 + w % 3, peripheral=9, inactive=4
        )
        for w in range(30)
    )
    page.emulate_media(color_scheme=scheme)
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server.url, world.facilitator.email)
    visit(page, f"{live_server.url}/c/commons/facilitate/")
    page.get_by_role("link", name="Open the health page").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Community health")
    chart = page.locator("#levels-chart svg")
    expect(chart).to_be_visible()
    assert chart.bounding_box()["width"] <= 390
    expect(page.get_by_role("table", name="Members per participation level, by week")).to_be_visible()
    expect(page.get_by_role("table", name="Health figures")).to_be_visible()
    expect(page.locator("#events-chart svg")).to_be_visible()
    fits(page, 390)
    assert_accessible(page)

    # A narrower range: eight weeks of snapshots.
    today = timezone.now().date()
    start = monday - timedelta(weeks=7)
    page.locator("#id_start").fill(start.isoformat())
    page.locator("#id_end").fill(today.isoformat())
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#id_start")).to_have_value(start.isoformat())
    rows = page.get_by_role("table", name="Members per participation level, by week").locator("tbody tr")
    expect(rows).to_have_count(8)
    fits(page, 390)

    # A backwards range is refused with a sentence, and what was typed stays.
    page.locator("#id_start").fill(today.isoformat())
    page.locator("#id_end").fill(start.isoformat())
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("alert")).to_contain_text("The start must be on or before the end.")
    expect(page.locator("#id_start")).to_have_value(today.isoformat())
    fits(page, 390)
    assert_accessible(page)

    page.locator("#id_start").fill(start.isoformat())
    page.locator("#id_end").fill(today.isoformat())
    page.get_by_role("button", name="Show").click()
    with page.expect_download() as caught:
        page.get_by_role("link", name="Download CSV").click()
    download = caught.value
    assert download.suggested_filename == f"health-commons-{start.isoformat()}-{today.isoformat()}.csv"
    text = Path(download.path()).read_text(encoding="utf-8")
    assert "Members by level, weekly" in text
    assert text.count(",2,") >= 8


def test_facilitator_declares_a_beat_and_fixes_a_mistake(page, live_server, world):
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server.url, world.facilitator.email)
    visit(page, f"{live_server.url}/c/commons/facilitate/rhythm/")
    page.get_by_label("Other beat").check()
    page.get_by_label("Name").fill("Newcomers' coffee")
    page.get_by_role("button", name="Add to the rhythm").click()
    expect(page.get_by_text("Say how many days may pass between two of these.")).to_be_visible()
    expect(page.get_by_label("Name")).to_have_value("Newcomers' coffee")
    page.get_by_label("Expected every (days)").fill("14")
    page.get_by_role("button", name="Add to the rhythm").click()
    expect(page.get_by_text("Added to the rhythm: Newcomers' coffee: at least every 14 days.")).to_be_visible()
    page.get_by_role("button", name="Mark “Newcomers' coffee: at least every 14 days” as held today").click()
    expect(page.get_by_text("Marked as held today.")).to_be_visible()
    fits(page, 390)
    assert_accessible(page)
