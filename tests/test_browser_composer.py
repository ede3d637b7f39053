"""Browser journeys for the composer (static/js/composer.js): formatting buttons and shortcuts, the live
preview, quoting a selection, @mention suggestions, a phone-sized new thread, and posting without JavaScript."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from communities.models import Membership
from discussions.models import Post
from tests.browser import PASSWORD, assert_accessible, log_in, visit

pytestmark = pytest.mark.browser

SHOTS = Path("/work/notes/shots")
MOD = "Control"


def reply_region(pw_page):
    return pw_page.get_by_role("region", name="Reply to the thread")


def bottom_box(pw_page):
    return reply_region(pw_page).get_by_label("Your reply")


def post_reply(pw_page) -> Post:
    before = set(Post.objects.values_list("pk", flat=True))
    reply_region(pw_page).get_by_role("button", name="Post reply").click()
    expect(pw_page.get_by_role("status")).to_contain_text("Your reply is posted.")
    (new,) = Post.objects.exclude(pk__in=before)
    return new


def open_thread(pw_page, live_server, user, conversation) -> None:
    log_in(pw_page, live_server.url, user.email)
    visit(pw_page, live_server.url + conversation.thread.get_absolute_url())


def test_toolbar_buttons_and_shortcuts_format_the_reply(page, live_server, world, conversation):
    open_thread(page, live_server, world.member, conversation)
    box = bottom_box(page)
    toolbar = reply_region(page).get_by_role("toolbar", name="Formatting")
    # Eight with the picture/file button: the box carries an upload address.
    expect(toolbar.get_by_role("button")).to_have_count(8)
    expect(toolbar.get_by_role("button", name="Bold (Ctrl+B)")).to_be_visible()

    toolbar.get_by_role("button", name="Bold (Ctrl+B)").click()
    expect(box).to_have_value("**bold text**")
    page.keyboard.type("quiet hours")  # the placeholder was selected: typing replaces it
    expect(box).to_have_value("**quiet hours**")
    page.keyboard.press(f"{MOD}+z")  # the browser's undo takes the typing back
    expect(box).to_have_value("**bold text**")
    page.keyboard.type("quiet hours")

    page.keyboard.press("End")
    page.keyboard.type(" then calm")
    for _ in range(4):
        page.keyboard.press("Shift+ArrowLeft")
    page.keyboard.press(f"{MOD}+b")
    expect(box).to_have_value("**quiet hours** then **calm**")

    page.keyboard.press("End")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    page.keyboard.type("first")
    page.keyboard.press(f"{MOD}+Shift+8")  # bullets, on the line the caret is in
    page.keyboard.press("End")
    page.keyboard.press("Enter")
    page.keyboard.type("second")
    toolbar.get_by_role("button", name="Bulleted list (Ctrl+Shift+8)").click()
    expect(box).to_have_value("**quiet hours** then **calm**\n\n- first\n- second")

    # The toolbar is one tab stop; arrow keys move along it.
    toolbar.get_by_role("button", name="Bold (Ctrl+B)").focus()
    page.keyboard.press("ArrowRight")
    expect(toolbar.get_by_role("button", name="Italic (Ctrl+I)")).to_be_focused()
    assert_accessible(page)

    post = post_reply(page)
    assert post.body == "**quiet hours** then **calm**\n\n- first\n- second"
    page.reload()
    shown = page.locator(f"#post-{post.pk} .user-content")
    expect(shown.locator("strong")).to_have_text(["quiet hours", "calm"])
    expect(shown.locator("li")).to_have_text(["first", "second"])


def test_live_preview_shows_what_the_post_will_show(page, live_server, world, conversation):
    open_thread(page, live_server, world.member, conversation)
    region = reply_region(page)
    expect(region.get_by_role("button", name="Preview")).to_be_hidden()  # the page trip is for browsers without JS
    bottom_box(page).click()
    page.keyboard.type("We use the *abbey* scale, ask @fern:\n\n1. at night\n2. hourly\n\n<script>alert(1)</script>")
    preview = region.get_by_label("Live preview")
    expect(preview.locator("em")).to_have_text("abbey")
    expect(preview.locator("ol li")).to_have_text(["at night", "hourly"])
    expect(preview.get_by_role("link", name="@fern")).to_have_attribute("href", "/u/fern/")
    expect(preview).to_contain_text("<script>alert(1)</script>")  # as text
    assert_accessible(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    region.screenshot(path=str(SHOTS / "composer-reply-live-preview.png"))

    previewed = preview.locator(".user-content").inner_html()
    post = post_reply(page)
    assert page.locator(f"#post-{post.pk} .user-content").inner_html().strip() == previewed.strip()


def test_quote_a_selection_from_a_post_into_the_reply_box(page, live_server, world, conversation):
    open_thread(page, live_server, world.member, conversation)
    answer = page.locator(f"#post-{conversation.answer.pk}")
    expect(answer.locator("article")).to_have_attribute("data-username", "fern")
    answer.locator(".user-content p").evaluate(
        "p => { const r = document.createRange(); r.selectNodeContents(p);"
        " const s = getSelection(); s.removeAllRanges(); s.addRange(r); }"
    )
    page.get_by_role("button", name="Quote", exact=True).click()
    quoted = f'[quote="fern, post:{conversation.answer.pk}"]\nTry the abbey scale first.\n[/quote]\n\n'
    expect(bottom_box(page)).to_have_value(quoted)
    expect(bottom_box(page)).to_be_focused()
    page.keyboard.type("Agreed.")

    # With the keyboard: the post's own "Quote" action quotes all of it.
    page.get_by_role("button", name="Quote Olive Owner").focus()
    page.keyboard.press("Enter")
    olive = f'[quote="olive, post:{conversation.nested.pk}"]\nAgree with Fern, and chart it hourly.\n[/quote]\n\n'
    expected = quoted + "Agreed.\n\n" + olive
    expect(bottom_box(page)).to_have_value(expected)
    assert_accessible(page)
    assert post_reply(page).body == expected.rstrip("\n") + "\n\n"


def test_mention_suggestions_offer_only_members_and_choose_by_keyboard(
    page, live_server, world, conversation, make_user
):
    ollie = make_user("ollie", display_name="Ollie Nightshift")
    Membership.objects.create(user=ollie, community=world.public)
    open_thread(page, live_server, world.member, conversation)
    box = bottom_box(page)
    box.click()
    page.keyboard.type("Thanks @o")
    people = page.get_by_role("listbox", name="People to mention")
    expect(people.get_by_role("option")).to_have_count(2)
    expect(people.get_by_role("option")).to_contain_text(["@olive", "@ollie"])  # not otto, an outsider
    expect(box).to_have_attribute("aria-expanded", "true")
    assert_accessible(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    reply_region(page).screenshot(path=str(SHOTS / "composer-mentions.png"))
    page.keyboard.press("ArrowDown")
    expect(people.get_by_role("option", name="Ollie Nightshift @ollie")).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", people.get_by_role("option").nth(1).get_attribute("id"))
    page.keyboard.press("Enter")
    expect(box).to_have_value("Thanks @ollie ")
    expect(people).to_be_hidden()
    expect(box).to_have_attribute("aria-expanded", "false")

    page.keyboard.type("and @bo")  # banned: nobody to offer
    page.wait_for_timeout(400)
    expect(people).to_be_hidden()
    page.keyboard.press("Escape")
    post = post_reply(page)
    assert post.body == "Thanks @ollie and @bo"
    expect(page.locator(f"#post-{post.pk} .user-content").get_by_role("link", name="@ollie")).to_have_attribute(
        "href", "/u/ollie/"
    )


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_new_thread_composer_on_a_phone(browser, live_server, world, conversation, scheme):
    context = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme=scheme)
    context.set_default_timeout(15_000)
    phone = context.new_page()
    try:
        log_in(phone, live_server.url, world.member.email, PASSWORD)
        visit(phone, f"{live_server.url}/c/commons/threads/new/")
        phone.get_by_label("Title").fill(f"Handover checklists ({scheme})")
        box = phone.get_by_label("Your post")
        box.click()
        phone.get_by_role("button", name="Numbered list (Ctrl+Shift+7)").click()
        expect(box).to_have_value("1. list item")
        phone.keyboard.type("name the risk")
        phone.keyboard.press("Enter")
        phone.keyboard.type("2. ask @fe")
        phone.get_by_role("option", name="Fern Facilitator @fern").click()
        expect(box).to_have_value("1. name the risk\n2. ask @fern ")
        SHOTS.mkdir(parents=True, exist_ok=True)
        phone.screenshot(path=str(SHOTS / f"composer-new-thread-write-{scheme}.png"), full_page=True)

        # One at a time on a phone: Write, then Preview.
        preview = phone.get_by_label("Live preview")
        expect(preview).to_be_hidden()
        phone.get_by_role("button", name="Preview", exact=True).click()
        expect(preview.locator("ol li")).to_have_text(["name the risk", "ask @fern"])
        expect(box).to_be_hidden()
        phone.screenshot(path=str(SHOTS / f"composer-new-thread-preview-{scheme}.png"), full_page=True)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        assert_accessible(phone)
        phone.get_by_role("button", name="Write", exact=True).click()
        expect(box).to_be_focused()

        phone.get_by_role("button", name="Post thread").click()
        expect(phone.get_by_role("status")).to_contain_text("Your thread is posted.")
        expect(phone.locator(".post.is-opening .user-content li")).to_have_text(["name the risk", "ask @fern"])
    finally:
        context.close()


def test_without_javascript_the_reply_box_previews_by_page_and_posts(browser, live_server, world, conversation):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    context.set_default_timeout(15_000)
    plain = context.new_page()
    try:
        log_in(plain, live_server.url, world.member.email)
        plain.goto(live_server.url + conversation.thread.get_absolute_url())
        expect(reply_region(plain).get_by_role("toolbar")).to_have_count(0)
        bottom_box(plain).fill("Plain **old** form")
        reply_region(plain).get_by_role("button", name="Preview").click()
        # The reply page, with the preview above the box and the text kept in it.
        expect(plain.get_by_label("Preview").locator("strong")).to_have_text("old")
        expect(plain.get_by_label("Your reply")).to_have_value("Plain **old** form")
        plain.get_by_role("button", name="Post reply").click()
        expect(plain.get_by_role("status")).to_contain_text("Your reply is posted.")
        assert Post.objects.filter(author=world.member, body="Plain **old** form").count() == 1
    finally:
        context.close()


def test_event_and_resource_descriptions_preview_as_they_will_show(page, live_server, world, conversation):
    log_in(page, live_server.url, world.facilitator.email)
    visit(page, f"{live_server.url}/c/commons/events/new/")
    page.get_by_label("Description").fill("Bring **questions**, @mira.")
    preview = page.get_by_label("Live preview").first
    expect(preview.locator("strong")).to_have_text("questions")
    expect(preview.get_by_role("link")).to_have_count(0)  # descriptions link no @mentions

    visit(page, f"{live_server.url}/c/commons/library/add/")
    expect(page.get_by_role("toolbar", name="Formatting")).to_have_count(3)  # description, summary, in practice
    page.get_by_label("Description").fill("A *short* guide")
    expect(page.get_by_label("Live preview").first.locator("em")).to_have_text("short")
    assert_accessible(page)


def test_picture_button_asks_the_upload_script_to_pick_a_file(page, live_server, world, conversation):
    open_thread(page, live_server, world.member, conversation)
    # A box with an upload address, as the upload app's forms will carry it.
    page.evaluate(
        """() => {
        const form = document.querySelector('.reply-box form');
        const area = document.createElement('textarea');
        area.id = 'attach-box'; area.setAttribute('data-composer', 'post');
        area.setAttribute('data-attach-url', '/uploads/');
        area.setAttribute('aria-label', 'Box with uploads');
        form.appendChild(area);
        window.__picked = [];
        document.addEventListener('copsite:attach-pick',
            e => window.__picked.push(e.target.id + ':' + e.detail.textarea.id));
        form.dispatchEvent(new CustomEvent('htmx:load', {bubbles: true}));
    }"""
    )
    toolbars = page.get_by_role("toolbar", name="Formatting")
    expect(toolbars.last.get_by_role("button")).to_have_count(8)
    toolbars.last.get_by_role("button", name="Picture or file").click()
    assert page.evaluate("window.__picked") == ["attach-box:attach-box"]
