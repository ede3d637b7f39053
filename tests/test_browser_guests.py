"""Browser journeys: a guest expert asked into one thread, and a subgroup's private thread (Chromium, axe-core)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from core.models import OutboundEmail
from discussions import services
from discussions.models import Post, Thread, ThreadGuest
from tests import factories
from tests.browser import assert_accessible, log_in, log_out, visit

pytestmark = pytest.mark.browser


def test_a_guest_expert_is_invited_reads_replies_and_loses_access_at_expiry(page, live_server, world, make_user):
    thread = services.start_thread(
        world.member, world.private, title="Tapering after a long stay", body="Which schedule do you use?"
    )
    expert = make_user("vera", email="vera@example.net", display_name="Vera Expert")

    # The facilitator invites her from the thread, for 10 days.
    log_in(page, live_server.url, world.facilitator.email)
    visit(page, live_server.url + thread.get_absolute_url())
    page.get_by_role("link", name="Guest experts…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Guest experts")
    assert_accessible(page)
    page.get_by_label("Guest's email address").fill("vera@example.net")
    page.get_by_label("Days of access").fill("10")
    page.get_by_label("Personal note").fill("Your view on the schedule would help.")
    page.get_by_role("button", name="Send the invitation").click()
    expect(page.get_by_role("status")).to_contain_text("Invitation sent to vera@example.net")
    expect(page.get_by_role("table")).to_contain_text("vera@example.net")
    log_out(page)

    # She follows the link from the mail, logs in and opens the discussion.
    mail = OutboundEmail.objects.get(to="vera@example.net")
    link = re.search(r"https?://\S+/guest/\S+/", mail.body_text)
    assert link is not None
    path = "/guest/" + link.group(0).split("/guest/", 1)[1]
    visit(page, live_server.url + path)
    expect(page.get_by_role("heading", level=1)).to_have_text("You're invited as a guest expert")
    page.locator("#main").get_by_role("link", name="Log in").click()
    page.get_by_label("Email").fill(expert.email)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You're invited as a guest expert")
    page.get_by_role("button", name="Open the discussion").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tapering after a long stay")
    expect(page.get_by_text("You are a guest in this thread")).to_be_visible()
    assert_accessible(page)

    # She replies; her byline says "guest".
    page.get_by_label("Your reply").fill("We step down by a tenth each week.")
    page.get_by_role("button", name="Post reply").click()
    mine = page.locator(".post").filter(has_text="We step down by a tenth each week.")
    expect(mine.locator(".badge-guest")).to_have_text("guest")
    assert Post.objects.get(author=expert).by_guest
    # Her home lists the thread with its end date; the community itself stays closed to her.
    visit(page, live_server.url + "/")
    expect(page.get_by_role("region", name="Threads you're a guest in")).to_contain_text("Tapering after a long stay")
    response = page.goto(live_server.url + "/c/circle/")
    assert response is not None and response.status == 404

    # Time passes beyond the end of her place: the thread is gone for her, the link says why.
    ThreadGuest.objects.filter(user=expert).update(expires_at=timezone.now() - timedelta(minutes=1))
    response = page.goto(live_server.url + thread.get_absolute_url())
    assert response is not None and response.status == 404
    expect(page.get_by_text("Tapering after a long stay")).to_have_count(0)
    page.goto(live_server.url + path)
    expect(page.get_by_role("alert")).to_contain_text("Your guest access to this thread has ended")
    assert_accessible(page)


def test_a_facilitator_makes_a_subgroup_its_member_posts_and_another_member_sees_nothing(
    page, live_server, world, make_user
):
    sam = make_user("sam", display_name="Sam Subgroup")
    factories.membership(sam, world.public)

    log_in(page, live_server.url, world.facilitator.email)
    visit(page, live_server.url + "/c/commons/")
    page.get_by_role("link", name="Manage subgroups").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Subgroups")
    assert_accessible(page)
    page.get_by_label("Name").fill("Case review")
    page.get_by_label("Short description").fill("Hard cases, in confidence")
    page.get_by_role("button", name="Create subgroup").click()
    expect(page.get_by_role("status")).to_contain_text("Subgroup “Case review” created")
    page.get_by_label("Member to add").select_option(label="Sam Subgroup")
    page.get_by_role("button", name="Add to Case review").click()
    expect(page.get_by_role("status")).to_contain_text("Sam Subgroup added to “Case review”")
    assert_accessible(page)
    log_out(page)

    log_in(page, live_server.url, sam.email)
    visit(page, live_server.url + "/c/commons/")
    page.get_by_role("link", name="Case review").click()
    page.get_by_role("link", name="Start a thread in Case review").click()
    expect(page.get_by_label("Who reads it")).to_have_value(re.compile(r"\d+"))
    page.get_by_label("Title").fill("Bed 4: the fall nobody saw")
    page.get_by_label("Your post").fill("What would you have done differently?")
    page.get_by_role("button", name="Post thread").click()
    expect(page.get_by_role("status")).to_contain_text("Your thread is posted.")
    expect(page.get_by_text("visible to its 1 member and the community's facilitators")).to_be_visible()
    assert_accessible(page)
    thread = Thread.objects.get(title="Bed 4: the fall nobody saw")
    assert thread.subgroup is not None and thread.subgroup.name == "Case review"
    log_out(page)

    log_in(page, live_server.url, world.member.email)
    visit(page, live_server.url + "/c/commons/")
    expect(page.get_by_role("region", name="Subgroups")).to_contain_text("Case review")
    expect(page.get_by_text("Bed 4: the fall nobody saw")).to_have_count(0)
    response = page.goto(live_server.url + thread.get_absolute_url())
    assert response is not None and response.status == 404
    visit(page, live_server.url + "/")
    expect(page.get_by_text("Bed 4: the fall nobody saw")).to_have_count(0)
