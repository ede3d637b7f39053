"""Browser journey: from a notification email's unsubscribe link to the settings page, which agrees."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import User
from communities.models import Membership
from core.mail import build_message
from core.models import OutboundEmail
from discussions import services as discussions
from notifications import email as notify
from notifications.models import Notification
from tests.browser import assert_accessible, log_in, visit

pytestmark = pytest.mark.browser


def html_part(message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/html":
            return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
    raise AssertionError("no text/html part")


def test_a_reader_steps_down_undoes_and_stops_one_kind_from_a_notification_email(
    page, live_server, world, conversation
):
    Notification.objects.update(emailed_at=timezone.now() - timedelta(hours=2))
    discussions.reply(
        world.facilitator, conversation.thread, "Try the abbey scale at night.", parent=conversation.opening
    )
    notify.sweep(timezone.now())
    row = OutboundEmail.objects.get(to=world.member.email, kind="notification.reply")
    message = email.message_from_bytes(build_message(row).message().as_bytes(), policy=email.policy.default)
    [link] = re.findall(r'<a href="([^"]+)">Stop emails when someone replies to you</a>', html_part(message))
    assert f"<{link}>" in " ".join(message["List-Unsubscribe"].split())

    # Not logged in: the signed link is enough, and opening it changes nothing.
    visit(page, live_server.url + link.removeprefix(settings.SITE_URL))
    expect(page.get_by_text("You get an email when someone replies to you.")).to_be_visible()
    state = page.locator("[data-email-state]")
    expect(state).to_contain_text("Someone replies to my post")
    expect(state).to_contain_text("Ward Commons: weekly digest")

    # A step down: a monthly digest from this community instead.
    page.get_by_label("Fewer emails: a monthly digest instead (Ward Commons)").check()
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status")).to_have_text("Ward Commons: you'll get a monthly digest.")
    expect(state).to_contain_text("Ward Commons: monthly digest")
    assert_accessible(page)
    assert Membership.objects.get(user=world.member, community=world.public).digest_cadence == "monthly"

    # Undo puts it back as it was.
    page.get_by_role("button", name="Undo").click()
    expect(page.get_by_role("status")).to_have_text("Undone: your email settings are as they were.")
    expect(state).to_contain_text("Ward Commons: weekly digest")
    assert Membership.objects.get(user=world.member, community=world.public).digest_cadence == ""

    # Then this kind off, and only it.
    visit(page, live_server.url + link.removeprefix(settings.SITE_URL))
    page.get_by_label("No more emails when someone replies to you").check()
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status")).to_contain_text("You won't get emails when someone replies to you any more.")
    expect(state).not_to_contain_text("Someone replies to my post")
    expect(state).to_contain_text("Someone mentions me")
    stated = " ".join(state.inner_text().split())

    # The settings page says the same, and its form agrees.
    log_in(page, live_server.url, world.member.email)
    visit(page, live_server.url + "/settings/email/")
    assert " ".join(page.locator("[data-email-state]").inner_text().split()) == stated
    expect(page.get_by_label("Someone replies to my post")).not_to_be_checked()
    expect(page.get_by_label("Someone mentions me")).to_be_checked()
    expect(page.get_by_label("Ward Commons")).to_have_value("")
    assert "reply" not in User.objects.get(pk=world.member.pk).email_notifications
