"""Browser journey: a member puts a picture and a PDF into a reply; outsiders never get the picture (Chromium)."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from attachments.models import Attachment
from core.markup import render
from discussions.models import Post
from tests.browser import assert_accessible, log_in, log_out, visit

pytestmark = pytest.mark.browser

PDF = "%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1600, 500), (30, 120, 200)).save(out, format="PNG")
    return out.getvalue()


def renders_attachments() -> bool:
    """Whether the markup shows attachments as a picture and a link (older renderers show only their text)."""
    key = "AAAAAAAAAAAAAAAAAAAAAA"
    html = render(f"![a](/attachments/{key}/a.png) [b.pdf](/attachments/{key}/b.pdf)").html
    return "<img" in html and f'href="/attachments/{key}/b.pdf"' in html


def test_a_member_puts_a_picture_and_a_pdf_into_a_reply_and_outsiders_get_404(page, live_server, world, conversation):
    thread = conversation.private_thread
    log_in(page, live_server.url, world.member.email)
    visit(page, live_server.url + thread.get_absolute_url())
    box = page.locator("form.reply-form").last.get_by_label("Your reply")
    expect(box).to_have_attribute("data-attach-url", "/c/circle/attachments/")
    box.fill("Our ward's chart:\n\n")

    # The composer's picture button opens attach.js's own file picker.
    toolbar = page.locator("form.reply-form").last.get_by_role("toolbar", name="Formatting")
    with page.expect_file_chooser() as chooser:
        toolbar.get_by_role("button", name=re.compile("Picture")).click()
    chooser.value.set_files({"name": "ward chart.png", "mimeType": "image/png", "buffer": png_bytes()})
    expect(box).to_have_value(re.compile(r"!\[ward chart\]\(/attachments/[\w-]{22,}/ward-chart\.png\)"))

    # A PDF dropped on the box becomes a link at the end of the text.
    box.evaluate(
        """(box, pdf) => {
            box.selectionStart = box.selectionEnd = box.value.length;
            const files = new DataTransfer();
            files.items.add(new File([pdf], "rota.pdf", {type: "application/pdf"}));
            box.dispatchEvent(new DragEvent("drop", {dataTransfer: files, bubbles: true, cancelable: true}));
        }""",
        PDF,
    )
    expect(box).to_have_value(re.compile(r"\[rota\.pdf\]\(/attachments/[\w-]{22,}/rota\.pdf\)"))
    assert "Uploading" not in box.input_value()

    # A file that is no picture is refused beside the box, and its placeholder goes.
    box.evaluate(
        """box => {
            const files = new DataTransfer();
            files.items.add(new File(["<svg xmlns='http://www.w3.org/2000/svg'/>"], "x.svg", {type: "image/svg+xml"}));
            box.dispatchEvent(new DragEvent("drop", {dataTransfer: files, bubbles: true, cancelable: true}));
        }"""
    )
    expect(page.get_by_role("alert")).to_contain_text("can't be shared here")
    expect(box).not_to_have_value(re.compile("Uploading"))
    assert_accessible(page)

    page.locator("form.reply-form").last.get_by_role("button", name="Post reply").click()
    post = Post.objects.get(body__startswith="Our ward's chart")
    picture = Attachment.objects.get(content_type="image/png")
    assert picture.post == post and Attachment.objects.get(content_type="application/pdf").post == post
    shown = page.locator(f"#post-{post.pk} .user-content")
    expect(shown).to_contain_text("Our ward's chart")
    if renders_attachments():
        expect(shown.get_by_role("link", name="rota.pdf")).to_be_visible()
        image = shown.locator("img")
        expect(image).to_have_attribute("src", picture.thumbnail_url())
        page.wait_for_function("img => img.complete && img.naturalWidth === 1200", arg=image.element_handle())
    else:
        expect(shown).to_contain_text("ward chart")
        expect(shown).to_contain_text("rota.pdf")
    fetched = page.request.get(live_server.url + picture.get_absolute_url())
    assert fetched.status == 200 and fetched.headers["content-type"] == "image/png"
    assert_accessible(page)

    log_out(page)
    for url in (picture.get_absolute_url(), picture.thumbnail_url()):
        assert page.request.get(live_server.url + url).status == 404
    log_in(page, live_server.url, world.outsider.email)
    for url in (picture.get_absolute_url(), picture.thumbnail_url()):
        assert page.request.get(live_server.url + url).status == 404
