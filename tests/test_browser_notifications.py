"""Browser journeys for notifications: the bell, its dropdown and the full page (Chromium, axe-core)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from notifications.models import Notification
from tests.browser import log_in, visit

pytestmark = pytest.mark.browser


def test_opening_a_notification_clears_it_and_lands_on_the_post(page, live_server, world, conversation):
    """The bug: a notification opened from the list stayed unread, and the bell kept counting it."""
    log_in(page, live_server.url, world.member.email)
    visit(page, f"{live_server.url}/notifications/")
    expect(page.locator(".bell-count")).to_have_text("1")
    row = page.locator(".notification-list li").filter(has_text="How do you assess pain in delirium?")
    row.locator("a, button").first.click()

    # The exact post: its thread's page, scrolled to Fern's answer.
    expect(page).to_have_url(re.compile(rf"/c/commons/t/{conversation.thread.pk}/#post-{conversation.answer.pk}$"))
    expect(page.locator(f"#post-{conversation.answer.pk}")).to_contain_text("Try the abbey scale first.")
    # Opened, so read: the bell stops counting it.
    expect(page.locator(".bell-count")).to_have_count(0)
    assert not Notification.objects.filter(user=world.member, read_at__isnull=True).exists()
