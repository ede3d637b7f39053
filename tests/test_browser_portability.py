"""Browser journeys: downloading your data, deleting your account, a facilitator's export."""

from __future__ import annotations

import json
import re
import zipfile

import pytest
from playwright.sync_api import expect

from accounts.models import FORMER_MEMBER
from tests.browser import PASSWORD, assert_accessible, log_in, visit

pytestmark = pytest.mark.browser


def open_your_data(page) -> None:
    menu = page.get_by_role("navigation", name="Account")
    menu.locator("summary").click()
    menu.get_by_role("link", name="Your data").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your data")
    assert_accessible(page)


def test_member_downloads_a_zip_of_what_they_wrote(page, live_server, world, conversation, tmp_path):
    log_in(page, live_server.url, world.member.email)
    open_your_data(page)
    with page.expect_download() as caught:
        page.get_by_role("button", name="Download my data").click()
    download = caught.value
    assert re.fullmatch(r"copsite-mira-\d{4}-\d{2}-\d{2}\.zip", download.suggested_filename)
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    data = json.loads(zipfile.ZipFile(path).read("data.json"))
    assert {p["body_markdown"] for p in data["posts"]} == {
        "We struggle with **PAINAD** at night.",
        "Quokka tapering details",
    }


def test_member_deletes_their_account_after_a_wrong_password(page, live_server, world, conversation):
    log_in(page, live_server.url, world.member.email)
    open_your_data(page)
    page.get_by_role("link", name="Delete my account…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete your account")
    expect(page.get_by_text("as community property attributed to “Former member”")).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Your password").fill("not the password")
    page.get_by_label("Type your username to confirm").fill("mira")
    page.get_by_role("button", name="Delete my account").click()
    expect(page.get_by_text("That is not your password.")).to_be_visible()
    expect(page.get_by_label("Type your username to confirm")).to_have_value("mira")
    assert_accessible(page)

    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Delete my account").click()
    expect(page.get_by_text("Your account is deleted.")).to_be_visible()
    account_menu = page.get_by_role("navigation", name="Account")
    expect(account_menu.get_by_role("link", name="Log in")).to_be_visible()
    assert_accessible(page)

    visit(page, live_server.url + conversation.thread.get_absolute_url())
    opening = page.locator(f"#post-{conversation.opening.pk}-by")
    expect(opening).to_have_text(FORMER_MEMBER)
    expect(opening.get_by_role("link")).to_have_count(0)

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(world.member.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(account_menu.get_by_role("link", name="Log in")).to_be_visible()


def test_facilitator_exports_the_community_from_the_dashboard(page, live_server, world, conversation, tmp_path):
    log_in(page, live_server.url, world.facilitator.email)
    visit(page, f"{live_server.url}/c/commons/facilitate/")
    with page.expect_download() as caught:
        page.get_by_role("button", name="Download Ward Commons (zip)").click()
    path = tmp_path / "commons.zip"
    caught.value.save_as(path)
    document = json.loads(zipfile.ZipFile(path).read("community.json"))
    assert [t["title"] for t in document["threads"]] == ["How do you assess pain in delirium?"]
