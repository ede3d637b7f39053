"""Drafts keep every field of a form and follow the member to another device, until the post.

static/js/site.js keeps each posting form's fields (text, choices, tags,
dates, links) in the browser, and for a member a copy on the server
(``/drafts/<key>/``, core/drafts.py), saved 1.5 s after typing stops; on
page load the newer copy wins. A post ends both: the server deletes its copy
in the answer to the post, and a device that still holds the text as it was
before the post drops it instead of bringing it back or sending it again.
tests/test_browser_drafts.py keeps the older guarantee: a posted text never
comes back into its box, and each text is posted once.
"""

from __future__ import annotations

import re
import time

import pytest
from django.test import Client
from playwright.sync_api import expect

from core.models import Draft
from discussions.models import Post, Thread
from resources.models import Resource
from tests.browser import assert_accessible, drafts_settled, log_in, log_out, visit

pytestmark = pytest.mark.browser

WAIT = 10.0


def server_draft(user, key: str) -> dict | None:
    draft = Draft.objects.filter(user=user, key=key).first()
    return draft.fields if draft else None


def wait_for_server_draft(user, key: str, check) -> dict:
    """The server's copy once it satisfies ``check`` (it is saved 1.5 s after typing stops)."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        fields = server_draft(user, key)
        if fields is not None and check(fields):
            return fields
        time.sleep(0.2)
    raise AssertionError(f"the server never had the expected draft {key}: {server_draft(user, key)!r}")


def draft_requests(pw_page) -> list[str]:
    """Every write this page sends to the drafts endpoint, as "METHOD path"."""
    sent: list[str] = []
    pw_page.on(
        "request",
        lambda request: (
            sent.append(f"{request.method} {request.url}")
            if "/drafts/" in request.url and request.method != "GET"
            else None
        ),
    )
    return sent


def test_a_new_thread_draft_keeps_title_kind_tags_and_body_until_it_is_posted(page, live_server, world):
    log_in(page, live_server.url, world.member.email)
    start = f"{live_server.url}/c/commons/threads/new/"
    key = f"thread-{world.public.pk}"
    visit(page, start)
    drafts_settled(page)
    page.get_by_label("Title").fill("Night rounds")
    page.get_by_label("Question").check()
    page.get_by_label("Tags").fill("sleep, nights")
    page.get_by_label("Your post").fill("What do you check first?")

    page.reload()
    drafts_settled(page)
    expect(page.get_by_label("Title")).to_have_value("Night rounds")
    expect(page.get_by_label("Question")).to_be_checked()
    expect(page.get_by_label("Tags")).to_have_value("sleep, nights")
    expect(page.get_by_label("Your post")).to_have_value("What do you check first?")
    wait_for_server_draft(world.member, key, lambda f: f.get("kind") == "question" and f.get("body"))

    # Refused (no text): every field is still there, after the answer and after a reload.
    page.get_by_label("Your post").fill("")
    page.get_by_role("button", name="Post thread").click()
    expect(page.locator("#id_body_error")).to_be_visible()
    page.reload()  # a GET of the form: only the draft can bring the fields back
    drafts_settled(page)
    expect(page.get_by_label("Title")).to_have_value("Night rounds")
    expect(page.get_by_label("Question")).to_be_checked()
    expect(page.get_by_label("Tags")).to_have_value("sleep, nights")
    expect(page.get_by_label("Your post")).to_have_value("")
    assert not Thread.objects.filter(author=world.member).exists()

    page.get_by_label("Your post").fill("What do you check first on nights?")
    page.get_by_role("button", name="Post thread").click()
    expect(page.get_by_role("status")).to_contain_text("Your thread is posted.")
    thread = Thread.objects.get(author=world.member)
    assert (thread.title, thread.kind) == ("Night rounds", "question")
    assert sorted(thread.tags.names()) == ["nights", "sleep"]

    visit(page, start)
    page.reload()
    drafts_settled(page)
    expect(page.get_by_label("Title")).to_have_value("")
    expect(page.get_by_label("Discussion")).to_be_checked()  # the page's own choice
    expect(page.get_by_label("Tags")).to_have_value("")
    expect(page.get_by_label("Your post")).to_have_value("")
    time.sleep(2)  # longer than a save takes to be sent
    assert server_draft(world.member, key) is None
    assert_accessible(page)


def test_a_reply_draft_follows_the_member_to_a_second_device_and_ends_on_both_when_posted(
    page, browser, live_server, world, conversation
):
    thread_url = live_server.url + conversation.thread.get_absolute_url()
    key = f"reply-{conversation.thread.pk}-thread"
    laptop = page
    log_in(laptop, live_server.url, world.member.email)
    visit(laptop, thread_url)
    laptop_box = laptop.get_by_role("region", name="Reply to the thread").get_by_label("Your reply")
    laptop_box.fill("We use Abbey on nights, and PAINAD when they can't say.")
    wait_for_server_draft(world.member, key, lambda f: "PAINAD" in next(iter(f.values()), ""))

    phone_context = browser.new_context(viewport={"width": 390, "height": 844})
    phone_context.set_default_timeout(15_000)
    phone = phone_context.new_page()
    try:
        log_in(phone, live_server.url, world.member.email)
        visit(phone, thread_url)
        drafts_settled(phone)
        phone_box = phone.get_by_role("region", name="Reply to the thread").get_by_label("Your reply")
        expect(phone_box).to_have_value("We use Abbey on nights, and PAINAD when they can't say.")
        phone.get_by_role("region", name="Reply to the thread").get_by_role("button", name="Post reply").click()
        expect(phone.get_by_role("status")).to_contain_text("Your reply is posted.")
        phone.reload()
        drafts_settled(phone)
        expect(phone_box).to_have_value("")
        assert server_draft(world.member, key) is None
    finally:
        phone_context.close()

    # The laptop still holds the text as it was before the post: it drops it, sends nothing back.
    writes = draft_requests(laptop)
    laptop.reload()
    drafts_settled(laptop)
    expect(laptop_box).to_have_value("")
    assert laptop.evaluate(f"localStorage.getItem('copsite-draft:{world.member.pk}:{key}')") is None
    time.sleep(2.5)  # past the save delay: nothing was sent
    assert writes == []
    assert server_draft(world.member, key) is None
    assert list(
        Post.objects.filter(thread=conversation.thread, author=world.member, depth__gt=0).values_list("body", flat=True)
    ) == ["We use Abbey on nights, and PAINAD when they can't say."]

    # A new text on the laptop is a new draft, kept and sent as usual.
    laptop_box.fill("Also: we chart it every two hours.")
    wait_for_server_draft(world.member, key, lambda f: "chart" in next(iter(f.values()), ""))
    assert_accessible(laptop)


def test_a_save_that_arrives_after_the_post_never_brings_the_reply_back(page, live_server, world, conversation):
    """A slow save from the laptop arrives after the phone posted the text: refused, and nothing comes back."""
    thread_url = live_server.url + conversation.thread.get_absolute_url()
    key = f"reply-{conversation.thread.pk}-thread"
    log_in(page, live_server.url, world.member.email)
    visit(page, thread_url)
    box = page.get_by_role("region", name="Reply to the thread").get_by_label("Your reply")
    # Saves are held back, as a slow network would, until the post is made elsewhere.
    held = []

    def hold_saves(route):
        if route.request.method == "GET":
            route.continue_()
        else:
            held.append(route)

    page.route(re.compile(r".*/drafts/.*"), hold_saves)
    box.fill("Typed on the laptop, posted from the phone.")
    deadline = time.monotonic() + WAIT
    while not held and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert held, "the laptop never tried to save its draft"
    # Posted from another device (the same member), then the held save arrives.
    phone = Client()
    phone.force_login(world.member)
    phone.post(
        f"/c/commons/t/{conversation.thread.pk}/reply/",
        {"body": "Typed on the laptop, posted from the phone.", "draft_key": key},
    )
    for route in held:
        route.continue_()
    page.wait_for_timeout(1000)
    assert server_draft(world.member, key) is None
    page.unroute(re.compile(r".*/drafts/.*"))
    page.reload()
    drafts_settled(page)
    expect(box).to_have_value("")
    assert server_draft(world.member, key) is None


def test_the_resource_form_keeps_its_kind_link_and_tags_across_a_reload(page, live_server, world):
    log_in(page, live_server.url, world.member.email)
    add = f"{live_server.url}/c/commons/library/add/"
    visit(page, add)
    page.get_by_label("Tool or template").check()  # the kind
    page.get_by_label("Title", exact=True).fill("Abbey pain scale explained")
    page.get_by_role("textbox", name=re.compile(r"^Link")).fill("https://example.org/abbey")
    page.get_by_label("Tags").fill("assessment")
    page.reload()
    drafts_settled(page)
    expect(page.get_by_label("Tool or template")).to_be_checked()
    expect(page.get_by_label("Title", exact=True)).to_have_value("Abbey pain scale explained")
    expect(page.get_by_role("textbox", name=re.compile(r"^Link"))).to_have_value("https://example.org/abbey")
    expect(page.get_by_label("Tags")).to_have_value("assessment")
    page.get_by_role("button", name="Add to the library").click()
    expect(page.get_by_role("status")).to_contain_text("Added to the library.")
    resource = Resource.objects.get(added_by=world.member)
    assert (resource.kind, resource.url) == ("tool", "https://example.org/abbey")
    visit(page, add)
    page.reload()
    drafts_settled(page)
    expect(page.get_by_label("Tool or template")).not_to_be_checked()
    expect(page.get_by_label("Title", exact=True)).to_have_value("")
    expect(page.get_by_role("textbox", name=re.compile(r"^Link"))).to_have_value("")


def test_the_event_form_keeps_its_kind_date_time_and_zone_across_a_reload(page, live_server, world):
    log_in(page, live_server.url, world.facilitator.email)
    schedule = f"{live_server.url}/c/commons/events/new/"
    visit(page, schedule)
    page.get_by_label("Title").fill("Handover huddle")
    page.get_by_label("Call or online meetup").check()
    page.get_by_label("Date", exact=True).fill("2031-03-04")
    page.get_by_label("Starts at").fill("19:30")
    page.get_by_label("Length in minutes").fill("45")
    zone = page.get_by_role("combobox", name=re.compile("Time zone"))
    zone.select_option("Europe/Paris")
    page.reload()
    drafts_settled(page)
    expect(page.get_by_label("Title")).to_have_value("Handover huddle")
    expect(page.get_by_label("Call or online meetup")).to_be_checked()
    expect(page.get_by_label("Date", exact=True)).to_have_value("2031-03-04")
    expect(page.get_by_label("Starts at")).to_have_value("19:30")
    expect(page.get_by_label("Length in minutes")).to_have_value("45")
    expect(zone).to_have_value("Europe/Paris")
    assert_accessible(page)


# The tags of a form may come as a multiple select or a list of checkboxes; an added widget
# (as a composer would add) is part of the draft like the form's own fields.
OTHER_TAG_WIDGETS = """
document.addEventListener("DOMContentLoaded", function () {
  var form = document.querySelector('input[name="draft_key"]').form;
  var box = document.createElement("div");
  box.innerHTML =
    '<label for="picked">Picked tags</label>' +
    '<select multiple id="picked" name="picked">' +
    '<option value="sleep">sleep</option><option value="nights">nights</option>' +
    '<option value="opioids">opioids</option>' +
    '</select>' +
    '<fieldset><legend>Areas</legend>' +
    '<input type="checkbox" id="area-ward" name="areas" value="ward"><label for="area-ward">Ward</label>' +
    '<input type="checkbox" id="area-home" name="areas" value="home"><label for="area-home">Home</label>' +
    '<input type="checkbox" id="area-icu" name="areas" value="icu" checked><label for="area-icu">ICU</label>' +
    '</fieldset>' +
    '<input type="password" name="secret_password" aria-label="Secret">' +
    '<input type="hidden" name="marker" value="from-the-page">';
  form.insertBefore(box, form.querySelector(".form-actions"));
});
"""


def test_tags_as_a_multiple_select_or_checkboxes_are_kept_and_secrets_are_not(page, live_server, world):
    page.add_init_script(OTHER_TAG_WIDGETS)
    log_in(page, live_server.url, world.member.email)
    key = f"thread-{world.public.pk}"
    page.goto(f"{live_server.url}/c/commons/threads/new/")
    page.get_by_label("Picked tags").select_option(["sleep", "opioids"])
    page.get_by_label("Home").check()
    page.get_by_label("ICU").uncheck()
    page.get_by_label("Secret").fill("hunter2")
    page.get_by_label("Title").fill("Night rounds")
    fields = wait_for_server_draft(world.member, key, lambda f: f.get("title") == "Night rounds")
    assert fields["picked"] == ["sleep", "opioids"] and fields["areas"] == ["home"]
    assert "secret_password" not in fields and "marker" not in fields and "csrfmiddlewaretoken" not in fields
    page.reload()
    drafts_settled(page)
    expect(page.get_by_label("Picked tags")).to_have_values(["sleep", "opioids"])
    expect(page.get_by_label("Home")).to_be_checked()
    expect(page.get_by_label("ICU")).not_to_be_checked()
    expect(page.get_by_label("Ward")).not_to_be_checked()
    expect(page.get_by_label("Secret")).to_have_value("")
    expect(page.get_by_label("Title")).to_have_value("Night rounds")
    stored = page.evaluate(f"localStorage.getItem('copsite-draft:{world.member.pk}:{key}')")
    assert "hunter2" not in stored and "from-the-page" not in stored


def test_on_a_shared_computer_one_members_draft_never_shows_in_anothers_form(page, live_server, world):
    start = f"{live_server.url}/c/commons/threads/new/"
    log_in(page, live_server.url, world.member.email)
    visit(page, start)
    drafts_settled(page)
    page.get_by_label("Title").fill("Mira's private worry")
    page.get_by_label("Your post").fill("Not for Fern's eyes.")
    wait_for_server_draft(world.member, f"thread-{world.public.pk}", lambda f: f.get("body"))
    log_out(page)

    log_in(page, live_server.url, world.facilitator.email)
    visit(page, start)
    drafts_settled(page)
    expect(page.get_by_label("Title")).to_have_value("")
    expect(page.get_by_label("Your post")).to_have_value("")
    page.wait_for_timeout(2000)  # past the save delay: nothing of Mira's went to Fern's copy
    assert server_draft(world.facilitator, f"thread-{world.public.pk}") is None
    log_out(page)

    log_in(page, live_server.url, world.member.email)
    visit(page, start)
    expect(page.get_by_label("Your post")).to_have_value("Not for Fern's eyes.")
