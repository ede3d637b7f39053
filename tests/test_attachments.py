"""Pictures and PDFs in posts, resources and events: uploading, linking, serving, sweeping."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from PIL import ExifTags, Image

from accounts.models import User
from attachments import services
from attachments.models import Attachment
from communities.models import Membership
from discussions import services as discussions
from events import services as event_services
from tests import factories
from tests.media import stored_files

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def image_bytes(size=(40, 30), fmt="PNG", exif: Image.Exif | None = None) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", size, (200, 30, 30))
    image.save(out, format=fmt, **({"exif": exif} if exif is not None else {}))
    return out.getvalue()


def gps_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Snoopcam"
    exif[ExifTags.Base.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (52.0, 22.0, 31.0),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (4.0, 53.0, 12.0),
    }
    return exif


def upload(client, name: str, content: bytes, slug: str = "commons", **extra):
    return client.post(f"/c/{slug}/attachments/", {"file": SimpleUploadedFile(name, content)}, **extra)


def uploaded(client, name="ward.png", content=None, slug="commons") -> Attachment:
    response = upload(client, name, image_bytes() if content is None else content, slug=slug)
    assert response.status_code == 201, response.content
    key = re.search(r"/attachments/([^/]+)/", response.json()["url"]).group(1)
    return Attachment.objects.get(key=key)


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


# --- Uploading --------------------------------------------------------------------------


def test_a_member_uploads_a_picture_and_gets_markdown_naming_it(client, world, media_root):
    client.force_login(world.member)
    response = upload(client, "Ward plan (v2).png", image_bytes())
    assert response.status_code == 201
    answer = response.json()
    attachment = Attachment.objects.get()
    assert len(attachment.key) >= 22 and re.fullmatch(r"[A-Za-z0-9_-]+", attachment.key)
    assert answer["url"] == f"/attachments/{attachment.key}/Ward-plan-v2.png"
    assert answer["markdown"] == rf"![Ward plan \(v2\)](/attachments/{attachment.key}/Ward-plan-v2.png)"
    assert (attachment.uploader, attachment.community, attachment.content_type) == (
        world.member,
        world.public,
        "image/png",
    )
    assert len(stored_files(media_root)) == 1  # small: no thumbnail


def test_a_pdf_becomes_a_link_and_is_stored_as_sent(client, world):
    client.force_login(world.member)
    response = upload(client, "Rota.pdf", PDF)
    assert response.status_code == 201
    key = Attachment.objects.get().key
    assert response.json()["markdown"] == f"[Rota.pdf](/attachments/{key}/Rota.pdf)"
    served = client.get(f"/attachments/{key}/Rota.pdf")
    assert body(served) == PDF
    assert served["Content-Disposition"].startswith("attachment;")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("notes.txt", b"plain words\n", "Only pictures"),
        ("sheet.docx", b"PK\x03\x04" + b"\x00" * 200, ""),
        ("photo.jpg", b"<html><script>alert(1)</script></html>", ""),
        ("drawing.svg", SVG, "can't be shared here"),
        ("photo.png", PDF, "Rename it"),
        ("broken.png", image_bytes()[:70], "could not be read"),
        ("empty.png", b"", "empty"),
    ],
)
def test_what_is_not_a_picture_or_a_pdf_is_refused_and_stores_nothing(
    client, world, media_root, name, content, message
):
    client.force_login(world.member)
    response = upload(client, name, content)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert not Attachment.objects.exists() and stored_files(media_root) == set()


def test_a_file_over_the_size_limit_is_refused_with_413(client, world, settings, media_root):
    settings.RESOURCE_MAX_UPLOAD_BYTES = 4000
    client.force_login(world.member)
    response = upload(client, "big.pdf", PDF + b"x" * 5000)
    assert response.status_code == 413
    assert "too large" in response.json()["error"]
    assert stored_files(media_root) == set()


def test_no_file_at_all_is_a_400(client, world):
    client.force_login(world.member)
    response = client.post("/c/commons/attachments/", {})
    assert response.status_code == 400 and response.json()["error"]


def test_gps_and_camera_exif_never_reach_the_served_picture(client, world):
    client.force_login(world.member)
    original = image_bytes(fmt="JPEG", exif=gps_exif())
    assert b"Snoopcam" in original and Image.open(io.BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    attachment = uploaded(client, "holiday.jpg", original)
    served = body(client.get(attachment.get_absolute_url()))
    assert served != original and b"Snoopcam" not in served and b"Exif" not in served
    reread = Image.open(io.BytesIO(served))
    assert reread.format == "JPEG" and reread.size == (40, 30)
    assert not reread.getexif() and not reread.getexif().get_ifd(ExifTags.IFD.GPSInfo)


def test_a_wide_picture_gets_a_narrower_copy_to_show_in_the_post(client, world, media_root):
    client.force_login(world.member)
    attachment = uploaded(client, "chart.png", image_bytes((2400, 600)))
    assert len(stored_files(media_root)) == 2
    thumb = client.get(attachment.thumbnail_url())
    assert thumb.status_code == 200 and Image.open(io.BytesIO(body(thumb))).size == (1200, 300)
    assert Image.open(io.BytesIO(body(client.get(attachment.get_absolute_url())))).size == (2400, 600)


def test_a_small_pictures_thumbnail_is_the_picture_and_a_pdf_has_none(client, world):
    client.force_login(world.member)
    small = uploaded(client)
    assert body(client.get(small.thumbnail_url())) == body(client.get(small.get_absolute_url()))
    pdf = uploaded(client, "Rota.pdf", PDF)
    assert client.get(pdf.thumbnail_url()).status_code == 404


def test_an_outsider_of_a_private_community_gets_404_and_nothing_is_stored(client, world, media_root):
    client.force_login(world.outsider)
    response = upload(client, "x.png", image_bytes(), slug="circle")
    assert response.status_code == 404 and response.json() == {"error": "No such community."}
    assert upload(client, "x.png", image_bytes(), slug="nope").status_code == 404
    assert stored_files(media_root) == set()


@pytest.mark.parametrize("who", ["anonymous", "outsider", "banned", "pending"])
def test_who_may_not_post_here_may_not_upload(client, world, media_root, who):
    person = None if who == "anonymous" else getattr(world, who)
    if person is not None:
        client.force_login(person)
    response = upload(client, "x.png", image_bytes())
    assert response.status_code == 403 and response.json()["error"]
    assert stored_files(media_root) == set() and not Attachment.objects.exists()


def test_an_upload_without_the_csrf_token_is_refused(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.member)
    assert upload(client, "x.png", image_bytes()).status_code == 403
    assert not Attachment.objects.exists()


def test_uploads_are_rate_limited_per_member(client, world, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "attach": ("2/60", None)}
    client.force_login(world.member)
    assert [upload(client, f"{i}.png", image_bytes()).status_code for i in range(3)] == [201, 201, 429]
    refused = upload(client, "3.png", image_bytes())
    assert refused.status_code == 429 and "faster than" in refused.json()["error"] and refused["Retry-After"]


def test_a_daily_quota_bounds_what_one_member_stores(client, world, settings):
    client.force_login(world.member)
    first = uploaded(client, "a.pdf", PDF)
    settings.ATTACHMENT_DAILY_BYTES = first.size + len(PDF) - 1
    refused = upload(client, "b.pdf", PDF)
    assert refused.status_code == 429 and "today" in refused.json()["error"]
    Attachment.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(days=2))
    assert upload(client, "b.pdf", PDF).status_code == 201


# --- Linking to the item that names it ------------------------------------------------------


def test_a_reply_and_a_new_thread_take_the_pictures_their_text_names(client, world, conversation):
    client.force_login(world.member)
    one, two = uploaded(client, "one.png"), uploaded(client, "two.png")
    reply = discussions.reply(world.member, conversation.thread, f"Look: ![one]({one.get_absolute_url()})")
    thread = discussions.start_thread(
        world.member, world.public, title="Charts", body=f"![two]({two.get_absolute_url()})"
    )
    one.refresh_from_db(), two.refresh_from_db()
    assert one.post == reply and two.post == thread.opening_post


def test_an_edit_links_a_picture_added_later(client, world, conversation):
    client.force_login(world.member)
    picture = uploaded(client)
    discussions.edit_post(world.member, conversation.opening, f"Now with ![it]({picture.get_absolute_url()})")
    picture.refresh_from_db()
    assert picture.post_id == conversation.opening.pk


def test_a_held_post_links_its_pictures_too(client, world, make_user, conversation):
    client.force_login(world.member)
    picture = uploaded(client)
    post = discussions.reply(
        world.member, conversation.thread, f"![it]({picture.get_absolute_url()})", suspected_spam=True
    )
    assert post.is_held
    picture.refresh_from_db()
    assert picture.post == post


def test_a_key_from_another_community_or_another_person_links_nothing(client, world, conversation):
    client.force_login(world.member)
    private = uploaded(client, slug="circle")
    client.force_login(world.facilitator)
    fern = uploaded(client)
    text = f"![a]({private.get_absolute_url()}) ![b]({fern.get_absolute_url()})"
    discussions.reply(world.member, conversation.thread, text)
    assert Attachment.objects.filter(post__isnull=False).count() == 0


def test_one_attachment_stays_in_the_first_item_that_took_it(client, world, conversation):
    client.force_login(world.member)
    picture = uploaded(client)
    first = discussions.reply(world.member, conversation.thread, f"![a]({picture.get_absolute_url()})")
    discussions.reply(world.member, conversation.thread, f"again ![a]({picture.get_absolute_url()})")
    picture.refresh_from_db()
    assert picture.post == first


def test_resources_and_events_take_the_pictures_their_descriptions_name(client, world):
    client.force_login(world.member)
    for_resource = uploaded(client)
    resource = factories.resource(
        world.member, world.public, title="Poster", description=f"![p]({for_resource.get_absolute_url()})"
    )
    client.force_login(world.facilitator)
    for_event = uploaded(client, "event.png")
    event = factories.event(world.facilitator, world.public, description=f"![e]({for_event.get_absolute_url()})")
    for_resource.refresh_from_db(), for_event.refresh_from_db()
    assert for_resource.resource == resource and for_event.event == event
    later = uploaded(client, "later.png")
    event_services.update_event(
        world.facilitator, event, fields={"description": f"![l]({later.get_absolute_url()})"}, questions=[], hosts=None
    )
    later.refresh_from_db()
    assert later.event == event


# --- Serving: exactly who may see the item ---------------------------------------------------

PEOPLE = ["anonymous", "outsider", "banned", "pending", "member", "author", "facilitator", "admin"]


def status_for(world, who: str, url: str, author) -> int:
    client = Client()
    person = {"anonymous": None, "author": author}.get(who, getattr(world, who, None))
    if person is not None:
        client.force_login(person)
    return client.get(url).status_code


def picture_in_post(world, community, *, state: str = "visible"):
    """A picture ``Pia`` (a member) put in a reply, then the reply held, hidden or deleted."""
    pia, _ = User.objects.get_or_create(username="pia", defaults={"email": "pia@example.org"})
    Membership.objects.get_or_create(user=pia, community=community)
    thread = discussions.start_thread(world.facilitator, community, title="Pictures", body="Show us.")
    client = Client()
    client.force_login(pia)
    picture = uploaded(client, slug=community.slug)
    text = f"![p]({picture.get_absolute_url()})"
    post = discussions.reply(pia, thread, text, suspected_spam=state == "held")
    if state == "hidden":
        discussions.hide_post(world.facilitator, post, "Off topic.")
    elif state == "deleted":
        discussions.delete_post(pia, post)
    return picture, pia


SEES = {
    ("open", "visible"): {"anonymous", "outsider", "banned", "pending", "member", "author", "facilitator", "admin"},
    ("private", "visible"): {"member", "author", "facilitator", "admin"},
    ("open", "held"): {"author", "facilitator", "admin"},
    ("private", "held"): {"author", "facilitator", "admin"},
    ("open", "hidden"): {"author", "facilitator", "admin"},
    ("open", "deleted"): {"facilitator", "admin"},
    ("private", "deleted"): {"facilitator", "admin"},
}


@pytest.mark.parametrize(("visibility", "state"), list(SEES))
def test_a_picture_in_a_post_is_seen_exactly_by_who_sees_the_post(world, visibility, state):
    community = world.public if visibility == "open" else world.private
    picture, pia = picture_in_post(world, community, state=state)
    for url in (picture.get_absolute_url(), picture.thumbnail_url()):
        seen = {who for who in PEOPLE if status_for(world, who, url, pia) == 200}
        assert seen == SEES[(visibility, state)], url
        assert {status_for(world, who, url, pia) for who in set(PEOPLE) - seen} <= {404}


def test_an_unlinked_upload_is_its_uploaders_alone(world):
    client = Client()
    client.force_login(world.member)
    picture = uploaded(client)
    url = picture.get_absolute_url()
    assert {who for who in PEOPLE if status_for(world, who, url, world.member) == 200} == {"member", "author"}
    # "member" is the uploader here; nobody else, not even the facilitator or a site admin, sees it.


def test_a_wrong_name_or_key_in_the_address_is_a_404(client, world):
    client.force_login(world.member)
    picture = uploaded(client)
    assert client.get(picture.get_absolute_url()).status_code == 200
    assert client.get(f"/attachments/{picture.key}/other.png").status_code == 404
    assert client.get(f"/attachments/{picture.key[:-1]}x/{picture.filename}").status_code == 404
    assert client.get(f"/attachments/{picture.key}/t/other.png").status_code == 404


def test_files_are_served_with_the_headers_of_uploaded_files(client, world):
    client.force_login(world.member)
    picture = uploaded(client, "Ward plan.png")
    response = client.get(picture.get_absolute_url())
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response["Cache-Control"] == "private, max-age=300"
    assert response["Content-Disposition"] == 'inline; filename="Ward-plan.png"'


def test_a_picture_in_a_removed_resource_goes_with_it(client, world):
    from resources import services as resource_services

    client.force_login(world.member)
    picture = uploaded(client)
    resource = factories.resource(
        world.member, world.public, title="Poster", description=f"![p]({picture.get_absolute_url()})"
    )
    assert Client().get(picture.get_absolute_url()).status_code == 200
    resource_services.remove_resource(world.member, resource)
    assert Client().get(picture.get_absolute_url()).status_code == 404


def test_an_upload_costs_a_bounded_number_of_queries(client, world, django_assert_max_num_queries):
    client.force_login(world.member)
    # session, user, community with membership, the day's bytes, the insert (and its savepoint)
    with django_assert_max_num_queries(7):
        assert upload(client, "chart.png", image_bytes((1600, 400))).status_code == 201


def test_serving_costs_the_same_few_queries_for_any_item(client, world, django_assert_max_num_queries):
    client.force_login(world.member)
    in_post, _ = picture_in_post(world, world.private)
    unlinked = uploaded(client)
    for url in (in_post.get_absolute_url(), in_post.thumbnail_url(), unlinked.get_absolute_url()):
        with django_assert_max_num_queries(4):  # session, user, the attachment with its item, the membership
            assert client.get(url).status_code == 200
    anonymous = Client()
    with django_assert_max_num_queries(2):
        assert anonymous.get(in_post.get_absolute_url()).status_code == 404


# --- Sweeping what no item took ------------------------------------------------------------


def test_the_sweep_deletes_day_old_unlinked_attachments_with_their_files(client, world, conversation, media_root):
    client.force_login(world.member)
    old = uploaded(client, "old.png", image_bytes((2400, 600)))
    recent = uploaded(client, "recent.png")
    kept = uploaded(client, "kept.png")
    discussions.reply(world.member, conversation.thread, f"![k]({kept.get_absolute_url()})")
    Attachment.objects.filter(pk__in=[old.pk, kept.pk]).update(created_at=timezone.now() - timedelta(hours=25))
    before = stored_files(media_root)
    assert len(before) == 4  # old has a thumbnail
    assert services.sweep_orphans() == 1
    assert set(Attachment.objects.values_list("pk", flat=True)) == {recent.pk, kept.pk}
    assert stored_files(media_root) == before - {old.file.name, old.thumbnail.name}
    assert services.sweep_orphans() == 0  # safe to run twice


def test_a_deleted_posts_picture_goes_when_its_content_is_purged(world, media_root):
    picture_in_post(world, world.public, state="deleted")
    kept, _ = picture_in_post(world, world.private, state="visible")
    assert services.sweep_orphans() == 0  # facilitators still see a deleted post's content for a while
    later = timezone.now() + timedelta(days=31)
    assert services.sweep_orphans(now=later) == 1
    assert list(Attachment.objects.all()) == [kept]
    assert stored_files(media_root) == {kept.file.name}


def test_the_sweep_works_in_batches(client, world, monkeypatch):
    monkeypatch.setattr(services, "SWEEP_BATCH", 2)
    client.force_login(world.member)
    for i in range(5):
        uploaded(client, f"{i}.pdf", PDF)
    Attachment.objects.update(created_at=timezone.now() - timedelta(days=2))
    assert services.sweep_orphans() == 5 and not Attachment.objects.exists()


def test_the_sweep_runs_on_the_beat_schedule(settings):
    from attachments import tasks

    assert any(entry["task"] == tasks.sweep.name for entry in settings.CELERY_BEAT_SCHEDULE.values())


def test_making_a_community_public_lists_the_pictures_visitors_would_open(world):
    from communities import exposure

    shown, _ = picture_in_post(world, world.private)
    picture_in_post(world, world.private, state="held")
    client = Client()
    client.force_login(world.member)
    uploaded(client, "unlinked.png", slug="circle")
    [listing] = [item for item in exposure.of(world.private).listings if item.label == "Pictures and PDFs"]
    assert (listing.count, listing.names) == (1, [shown.filename])


# --- Hostile files and names ----------------------------------------------------------------


def test_a_hostile_name_becomes_a_safe_address_and_escaped_markdown(client, world):
    client.force_login(world.member)
    response = upload(client, '../../etc/](javascript:alert(1))<b>"Ünïcode".png', image_bytes())
    assert response.status_code == 201
    url = response.json()["url"]
    assert re.fullmatch(r"/attachments/[\w-]{22,}/[A-Za-z0-9_-]+\.png", url)
    markdown = response.json()["markdown"]
    assert markdown.endswith(f"]({url})") and "](javascript" not in markdown and "\\]\\(javascript" in markdown


def test_bytes_hidden_after_a_picture_are_not_served(client, world):
    client.force_login(world.member)
    polyglot = image_bytes() + b"<html><script>alert(document.cookie)</script></html>"
    attachment = uploaded(client, "innocent.png", polyglot)
    served = body(client.get(attachment.get_absolute_url()))
    assert b"<script>" not in served and Image.open(io.BytesIO(served)).size == (40, 30)


def test_an_animated_gif_stays_animated_without_its_comment(client, world):
    frames = [Image.new("RGB", (30, 20), color).convert("P") for color in ("red", "green", "blue")]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=100, comment=b"secret note")
    assert b"secret note" in out.getvalue()
    client.force_login(world.member)
    attachment = uploaded(client, "wave.gif", out.getvalue())
    served = body(client.get(attachment.get_absolute_url()))
    assert b"secret note" not in served
    assert Image.open(io.BytesIO(served)).n_frames == 3


def test_a_phone_jpeg_with_a_second_picture_inside_keeps_only_the_first(client, world):
    first, second = Image.new("RGB", (40, 30), "red"), Image.new("RGB", (40, 30), "blue")
    out = io.BytesIO()
    first.save(out, format="MPO", save_all=True, append_images=[second], exif=gps_exif())
    client.force_login(world.member)
    attachment = uploaded(client, "phone.jpg", out.getvalue())
    served = Image.open(io.BytesIO(body(client.get(attachment.get_absolute_url()))))
    assert served.format == "JPEG" and getattr(served, "n_frames", 1) == 1 and not served.getexif()


# --- The boxes that take attachments ---------------------------------------------------------


def test_every_markdown_box_of_a_post_resource_or_event_takes_attachments(client, world, conversation):
    """The textareas carry the upload address (static/js/attach.js); other boxes don't."""
    client.force_login(world.facilitator)
    thread = conversation.thread
    pages = {
        f"/c/commons/t/{thread.pk}/": ["body"],
        f"/c/commons/t/{thread.pk}/reply/": ["body"],
        "/c/commons/threads/new/": ["body"],
        f"/p/{conversation.answer.pk}/edit/": ["body"],
        "/c/commons/library/add/": ["description", "summary", "in_practice"],
        "/c/commons/events/new/": ["description"],
    }
    for url, names in pages.items():
        html = client.get(url).content.decode()
        boxes = {
            m.group(1): 'data-attach-url="/c/commons/attachments/"' in m.group(0)
            for m in re.finditer(r'<textarea name="([\w-]+)"[^>]*>', html)
        }
        assert {name for name, takes in boxes.items() if takes} == set(names), (url, boxes)
