"""Small things a person reads, read as text the way the browser shows it (Chromium's innerText)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from discussions import services
from tests.browser import assert_accessible, log_in, visit

pytestmark = pytest.mark.browser


def words(locator) -> str:
    """The text as shown, runs of white space as one space."""
    return " ".join(locator.inner_text().split())


def test_a_reply_away_from_its_parent_reads_name_space_replying_to(page, live_server, world, conversation):
    # Posted after Olive's reply to Fern, this reply to Fern lands below Olive's, away from its parent.
    late = services.reply(world.owner, conversation.thread, "Also check the MAR chart.", parent=conversation.answer)
    log_in(page, live_server.url, world.member.email)
    visit(page, live_server.url + conversation.thread.get_absolute_url())
    assert words(page.locator(f"#post-{late.pk}-by")) == "Olive Owner replying to Fern Facilitator"
    expect(page.get_by_role("article", name="Olive Owner replying to Fern Facilitator")).to_be_visible()

    # The reply posted inline (htmx) reads the same.
    olive = page.locator(f"#post-{late.pk}")
    olive.get_by_role("link", name="Reply to Olive Owner").click()
    olive.get_by_label("Your reply").fill("Good point about the MAR chart.")
    olive.get_by_role("button", name="Post reply").click()
    new = olive.locator(".post.just-posted")
    expect(new).to_contain_text("Good point")
    assert words(new.locator(".post-author")) == "Mira Member replying to Olive Owner"
    assert "Memberreplying" not in page.locator("#posts").inner_text()
    assert_accessible(page)


def test_the_new_community_form_shows_a_real_address_as_the_example(page, live_server, world):
    log_in(page, live_server.url, world.admin.email)  # site admins start communities
    visit(page, f"{live_server.url}/c/new/")
    help_text = words(page.locator("#id_slug_helptext"))
    assert help_text == "The community's address, such as /c/acute-pain/. Lower-case letters, digits and hyphens."
    assert "/c//" not in page.locator("main").inner_text()

    # Editing, the community's own address.
    visit(page, f"{live_server.url}/c/commons/edit/")
    help_text = words(page.locator("#id_slug_helptext"))
    assert help_text == "The community's address: /c/commons/. Lower-case letters, digits and hyphens."
    assert "/c//" not in page.locator("main").inner_text()
