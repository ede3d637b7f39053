"""Browser journey for the curated repertoire: endorse, supersede (banner, pin gone), review what is due."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from resources import services
from resources.models import Resource
from tests import factories
from tests.browser import assert_accessible, log_in, visit

pytestmark = pytest.mark.browser

SHOTS = Path("/work/notes/shots")


def shot(page, name: str) -> None:
    if SHOTS.is_dir():
        page.screenshot(path=str(SHOTS / f"repo-{name}.png"), full_page=True)


def test_a_facilitator_endorses_supersedes_and_reviews(page, live_server, world):
    today = timezone.localdate()
    guide = factories.resource(world.member, world.public, title="Sepsis screening guide", description="Steps.")
    old = factories.resource(world.member, world.public, title="Sepsis card 2019", description="Old steps.")
    new = factories.resource(world.member, world.public, title="Sepsis card 2026", description="New steps.")
    factories.resource(
        world.member, world.public, title="Falls bundle", description="x", review_by=today - timedelta(days=3)
    )
    services.set_pin(world.facilitator, old, "pin")

    log_in(page, live_server.url, world.facilitator.email)
    # Endorse.
    visit(page, f"{live_server.url}{guide.get_absolute_url()}")
    page.get_by_role("button", name="Endorse").click()
    expect(page.locator(".endorsement")).to_contain_text("Endorsed by Fern Facilitator on")
    assert_accessible(page)

    # Supersede: the banner shows, the pin is gone.
    visit(page, f"{live_server.url}{old.get_absolute_url()}")
    expect(page.locator(".badge-pinned")).to_be_visible()
    page.get_by_role("link", name="Mark superseded").click()
    assert_accessible(page)
    page.get_by_label("Replaced by").select_option(label="Sepsis card 2026")
    page.get_by_role("button", name="Mark superseded").click()
    banner = page.locator(".superseded-banner")
    expect(banner).to_contain_text("Replaced by Sepsis card 2026")
    expect(page.locator(".badge-pinned")).to_have_count(0)
    assert_accessible(page)
    banner.get_by_role("link", name="Sepsis card 2026").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sepsis card 2026")
    visit(page, f"{live_server.url}/c/commons/")
    expect(page.get_by_role("region", name="Start here")).not_to_contain_text("Sepsis card 2019")

    # Review what is due, from the dashboard's list.
    visit(page, f"{live_server.url}/c/commons/facilitate/")
    due = page.get_by_role("region", name="Due for review")
    expect(due).to_contain_text("Falls bundle")
    shot(page, "due-for-review-dashboard")
    visit(page, f"{live_server.url}/c/commons/library/due/")
    shot(page, "due-for-review")
    page.get_by_role("link", name="Review Falls bundle").click()
    assert_accessible(page)
    page.get_by_label("What did you check?").fill("Links work; matches the current falls guideline.")
    page.get_by_label("Next review by").fill((today + timedelta(days=180)).isoformat())
    page.get_by_role("button", name="Record the review").click()
    expect(page.get_by_text("Review recorded.")).to_be_visible()
    expect(page.get_by_text("Nothing is due for review.")).to_be_visible()
    shot(page, "due-for-review-done")
    assert Resource.objects.get(title="Falls bundle").review_by == today + timedelta(days=180)
    assert Resource.objects.get(pk=old.pk).pin_position is None
    assert Resource.objects.get(pk=new.pk).status == Resource.Status.PUBLISHED
