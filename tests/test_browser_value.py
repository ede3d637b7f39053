"""Browser journey for value notes: a member notes realised value on a resource; the facilitator reports it."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.browser import assert_accessible, log_in, log_out, visit

pytestmark = pytest.mark.browser
SHOTS = Path("/work/notes/shots")


def shot(page, name: str) -> None:
    if SHOTS.is_dir():
        page.screenshot(path=str(SHOTS / f"value-{name}.png"), full_page=True)


def test_a_realised_value_note_shows_on_the_resource_and_counts_in_the_value_report(page, live_server, world):
    resource = factories.resource(world.owner, world.public, title="Night handover card", description="Use it.")

    # A member says what the resource changed, first forgetting the measure.
    log_in(page, live_server.url, world.member.email)
    visit(page, f"{live_server.url}{resource.get_absolute_url()}")
    expect(page.get_by_role("region", name="Value for members")).to_contain_text("No value notes yet.")
    page.get_by_role("link", name="Add a value note").click()
    assert_accessible(page)
    page.get_by_label("Realised value").check()
    page.get_by_label("What did it do for you?").fill("We used the card on every night shift for a month.")
    page.get_by_role("button", name="Add value note").click()
    expect(page.get_by_text("Say what changed: realised value needs a measure.")).to_be_visible()
    expect(page.get_by_label("What did it do for you?")).to_have_value(
        "We used the card on every night shift for a month."
    )
    page.get_by_label("What changed, and how does it show?").fill("Missed handover items went from 5 to 1 a week")
    expect(page.get_by_label("This note may be shared in the community's digest")).to_be_checked()
    shot(page, "form")
    page.get_by_role("button", name="Add value note").click()

    notes = page.get_by_role("region", name="Value for members")
    realised = notes.locator(".value-cycle-realised")
    expect(realised.get_by_role("heading")).to_contain_text("Realised value")
    expect(realised).to_contain_text("Missed handover items went from 5 to 1 a week")
    expect(realised).to_contain_text("Mira Member")
    assert_accessible(page)
    shot(page, "resource")
    log_out(page)

    # The facilitator finds the report on the dashboard and sees the note counted.
    log_in(page, live_server.url, world.facilitator.email)
    visit(page, f"{live_server.url}/c/commons/value/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Value report")
    expect(page.get_by_text("1 value note in the last 12 months.")).to_be_visible()
    expect(page.locator("svg.value-chart title").first).to_have_text("Value notes per month in Ward Commons")
    table = page.get_by_role("table", name="Value notes per cycle per month")
    expect(table.locator("tfoot")).to_contain_text("1")
    expect(page.get_by_role("link", name="Night handover card")).to_be_visible()
    assert_accessible(page)
    shot(page, "report")

    # The printable page: no navigation, the same numbers.
    page.get_by_role("link", name="Printable page").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ward Commons: value report")
    expect(page.get_by_role("navigation")).to_have_count(0)
    expect(page.get_by_text("Missed handover items went from 5 to 1 a week")).to_be_visible()
    page.emulate_media(media="print")
    shot(page, "print")
