"""Browser journey: a facilitator bans a member with a reason and an end date, reads it in the audit log, unbans."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from communities import audit
from communities.models import Ban, Membership
from core.models import OutboundEmail
from tests.browser import assert_accessible, log_in, visit

pytestmark = pytest.mark.browser


def test_facilitator_bans_after_confirming_sees_it_in_the_audit_log_and_unbans(page, live_server, world):
    log_in(page, live_server.url, world.facilitator.email)
    visit(page, f"{live_server.url}/c/commons/facilitate/")
    page.get_by_role("link", name="Ban Mira Member…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ban Mira Member from Ward Commons?")
    assert_accessible(page)
    until = timezone.localdate() + timedelta(days=14)
    page.get_by_label("Reason").fill("Posting adverts after two warnings")
    page.get_by_label("Banned until").fill(until.isoformat())
    page.get_by_role("button", name="Ban Mira Member").click()
    expect(page.get_by_role("status")).to_contain_text("Mira Member is banned until")
    banned = page.get_by_role("region", name="Banned")
    expect(banned).to_contain_text("Posting adverts after two warnings")
    assert Membership.objects.get(user=world.member, community=world.public).state == "banned"
    assert OutboundEmail.objects.filter(to=world.member.email, kind="membership.banned").count() == 1

    page.get_by_role("link", name="The whole audit log").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit log of Ward Commons")
    words = audit.day_words(Ban.objects.get().until)
    expect(page.get_by_role("list", name=re.compile("Audit entries"))).to_contain_text(
        f"Fern Facilitator banned Mira Member until {words}: Posting adverts after two warnings"
    )
    page.get_by_label("Action").select_option("member.ban")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("ol.audit li")).to_have_count(1)
    assert_accessible(page)

    visit(page, f"{live_server.url}/c/commons/facilitate/")
    page.get_by_role("region", name="Banned").get_by_role("button", name="Unban Mira Member").click()
    expect(page.get_by_role("status")).to_contain_text("Mira Member is no longer banned.")
    mira = Membership.objects.get(user=world.member, community=world.public)
    assert (mira.state, mira.role) == ("active", "member")
