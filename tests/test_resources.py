"""The shared repertoire: resources, files, curation, discussion, feeds and search through HTTP."""

from __future__ import annotations

import html as html_entities
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from communities.models import AuditEntry
from resources.models import Resource
from tests import factories

pytestmark = pytest.mark.django_db

RESEARCH = {
    "kind": "research",
    "title": "Behavioural pain scales in delirium",
    "citation_title": "Observational pain scales in older adults with delirium",
    "citation_authors": "Okafor A, Lindqvist M",
    "citation_venue": "J Clin Nurs",
    "citation_year": "2024",
    "citation_link": "10.1000/xyz123",
    "summary": "Behavioural scales were **reliable** when self-report failed.",
    "in_practice": "- Score at the same time as obs\n- Re-score after analgesia",
    "try_this": "Score one confused patient with a behavioural scale on your next shift.",
    "tags": "assessment, delirium",
}


def png_bytes(size=(40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def add(client, slug="commons", **data):
    return client.post(f"/c/{slug}/library/add/", data)


def test_member_adds_a_research_summary_with_in_practice_section(client, world):
    client.force_login(world.member)
    response = add(client, **RESEARCH)
    resource = Resource.objects.get(title=RESEARCH["title"])
    assert response.status_code == 302 and response["Location"] == resource.get_absolute_url()
    page = client.get(resource.get_absolute_url()).content.decode()
    assert "So what for practice?" in page and "<li>Re-score after analgesia</li>" in page
    assert "<strong>reliable</strong>" in page and "Okafor A, Lindqvist M" in page
    assert sorted(resource.tags.names()) == ["assessment", "delirium"]
    library = client.get("/c/commons/library/").content.decode()
    assert RESEARCH["title"] in library and "Research summary" in library


def test_research_summary_needs_its_in_practice_section_and_keeps_input(client, world):
    client.force_login(world.member)
    response = add(client, **{**RESEARCH, "in_practice": "", "citation_link": "javascript:alert(1)"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Say what this means in practice" in html
    assert "Give a DOI" in html
    assert "Behavioural pain scales in delirium" in html
    assert not Resource.objects.exists()


def test_link_resource_needs_an_address(client, world):
    client.force_login(world.member)
    response = add(client, kind="link", title="Handout")
    assert "A link needs its address." in response.content.decode()
    response = add(client, kind="link", title="Handout", url="javascript:alert(1)")
    assert "Enter a valid URL." in response.content.decode()
    assert not Resource.objects.exists()


def test_pdf_upload_is_stored_under_a_generated_name_and_served_as_attachment(client, world):
    client.force_login(world.member)
    pdf = SimpleUploadedFile("../../etc/Pain plan «v2».pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF")
    response = add(client, kind="file", title="Ward pain plan", description="Our template", upload=pdf)
    assert response.status_code == 302
    resource = Resource.objects.get()
    assert resource.file_type == "application/pdf"
    assert ".." not in resource.file.name and "Pain" not in resource.file.name
    assert resource.file_name == "Pain plan «v2».pdf"
    download = client.get(f"/c/commons/library/{resource.pk}/file/")
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["Content-Type"] == "application/pdf"
    assert download["X-Content-Type-Options"] == "nosniff"
    assert b"".join(download.streaming_content).startswith(b"%PDF")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.pdf", b"", "The submitted file is empty."),
        ("page.jpg", b"<!DOCTYPE html><html><script>alert(1)</script></html>", "can't be shared here"),
        ("x.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "can't be shared here"),
        ("page.html", b"<html><body>hi</body></html>", "can't be shared here"),
        ("notes.pdf", png_bytes(), "its content is image/png"),
        ("binary.txt", b"abc\x00\x01\x02def" * 20, "can't be shared here"),
        ("latin.txt", "caf\xe9 ol\xe9 ".encode("latin-1") * 50, "UTF-8"),
        ("prog.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200, "can't be shared here"),
    ],
)
def test_bad_uploads_are_refused_with_a_clear_error_and_store_nothing(client, world, name, content, message):
    client.force_login(world.member)
    response = add(client, kind="file", title="Bad file", upload=SimpleUploadedFile(name, content))
    html = response.content.decode()
    assert response.status_code == 200
    assert message in html_entities.unescape(html), html[html.find("errorlist") - 200 : html.find("errorlist") + 400]
    assert 'value="Bad file"' in html
    assert not Resource.objects.exists()


def test_oversized_upload_is_refused(client, world, settings):
    settings.RESOURCE_MAX_UPLOAD_BYTES = 1024
    client.force_login(world.member)
    response = add(client, kind="file", title="Big", upload=SimpleUploadedFile("big.pdf", b"%PDF-1.4\n" + b"x" * 5000))
    assert "The file is too large" in response.content.decode()
    assert not Resource.objects.exists()


def test_pixel_flood_image_is_refused(client, world):
    out = io.BytesIO()
    Image.new("1", (10_000, 5_000)).save(out, format="PNG")
    client.force_login(world.member)
    response = add(client, kind="file", title="Flood", upload=SimpleUploadedFile("flood.png", out.getvalue()))
    assert "too large in pixels" in response.content.decode()
    assert not Resource.objects.exists()


def test_image_gets_a_reencoded_preview(client, world):
    client.force_login(world.member)
    add(client, kind="file", title="Pain scale poster", upload=SimpleUploadedFile("poster.png", png_bytes((1600, 900))))
    resource = Resource.objects.get()
    preview = client.get(f"/c/commons/library/{resource.pk}/preview.png")
    assert preview["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(b"".join(preview.streaming_content)))
    assert image.size == (800, 450)


def test_private_file_and_resource_are_404_for_outsiders(client, world):
    resource = factories.resource(
        world.member, world.private, kind="file", title="Quetzal handout", file=("q.pdf", b"%PDF-1.4\n%%EOF")
    )
    client.force_login(world.outsider)
    for url in [
        resource.get_absolute_url(),
        f"/c/circle/library/{resource.pk}/file/",
        "/c/circle/library/",
        f"/c/commons/library/{resource.pk}/",
        f"/c/commons/library/{resource.pk}/file/",
    ]:
        response = client.get(url)
        assert response.status_code == 404, url
        assert b"Quetzal" not in response.content
    client.force_login(world.member)
    assert client.get(f"/c/circle/library/{resource.pk}/file/").status_code == 200


def test_facilitator_pins_and_reorders_without_js(client, world):
    made = [factories.resource(world.member, world.public, title=f"How-to {i}", description="steps") for i in range(3)]
    client.force_login(world.facilitator)
    for r in made:
        client.post(f"/c/commons/library/{r.pk}/pin/", {"action": "pin"})
    client.post(f"/c/commons/library/{made[2].pk}/pin/", {"action": "up", "next": "library"})
    client.post(f"/c/commons/library/{made[2].pk}/pin/", {"action": "up", "next": "library"})
    order = list(
        Resource.objects.filter(pin_position__isnull=False).order_by("pin_position").values_list("title", flat=True)
    )
    assert order == ["How-to 2", "How-to 0", "How-to 1"]
    front = client.get("/c/commons/").content.decode()
    assert front.index("How-to 2") < front.index("How-to 0") < front.index("How-to 1")
    client.post(f"/c/commons/library/{made[0].pk}/pin/", {"action": "unpin"})
    assert list(
        Resource.objects.filter(pin_position__isnull=False)
        .order_by("pin_position")
        .values_list("pin_position", flat=True)
    ) == [1, 2]
    assert AuditEntry.objects.filter(action="resource.up").count() == 2
    client.force_login(world.member)
    assert client.post(f"/c/commons/library/{made[1].pk}/pin/", {"action": "pin"}).status_code == 403


def test_members_edit_their_own_facilitators_any_and_removal_is_audited(client, world):
    r = factories.resource(world.member, world.public, kind="tool", title="Chart", description="A chart")
    client.force_login(world.outsider)
    assert client.get(f"/c/commons/library/{r.pk}/edit/").status_code == 403
    client.force_login(world.facilitator)
    client.post(f"/c/commons/library/{r.pk}/edit/", {"kind": "tool", "title": "Better chart", "description": "x"})
    r.refresh_from_db()
    assert r.title == "Better chart"
    client.post(f"/c/commons/library/{r.pk}/remove/")
    assert client.get(r.get_absolute_url()).status_code == 404
    assert AuditEntry.objects.filter(action__in=["resource.edit", "resource.remove"]).count() == 2


def test_an_edit_loaded_before_a_facilitators_curation_keeps_the_curation(world):
    from resources import services

    r = factories.resource(world.member, world.public, kind="tool", title="Chart", description="A chart")
    stale = Resource.objects.get(pk=r.pk)  # the author opened the edit page…
    services.endorse_resource(world.facilitator, Resource.objects.get(pk=r.pk))  # …a facilitator endorses it…
    services.change_owner(world.facilitator, Resource.objects.get(pk=r.pk), world.facilitator.username)
    services.edit_resource(world.member, stale, fields={"title": "Better chart"}, tags=[])  # …then the author saves
    r.refresh_from_db()
    assert r.title == "Better chart"
    assert r.endorsed_by == world.facilitator and r.endorsed_at is not None and r.owner == world.facilitator


def test_helpful_and_sort_by_most_helpful(client, world):
    a = factories.resource(world.member, world.public, kind="tool", title="Alpha tool", description="a")
    factories.resource(world.member, world.public, kind="tool", title="Beta tool", description="b")
    client.force_login(world.facilitator)
    client.post(f"/c/commons/library/{a.pk}/helpful/")
    a.refresh_from_db()
    assert a.helpful_count == 1
    page = client.get("/c/commons/library/?sort=helpful").content.decode()
    assert page.index("Alpha tool") < page.index("Beta tool")
    page = client.get("/c/commons/library/?sort=newest").content.decode()
    assert page.index("Beta tool") < page.index("Alpha tool")


def test_discuss_this_creates_one_thread_linking_back(client, world):
    r = factories.resource(
        world.member, world.public, kind="story", title="A night that went well", description="story", tags=["nights"]
    )
    client.force_login(world.facilitator)
    first = client.post(f"/c/commons/library/{r.pk}/discuss/")
    second = client.post(f"/c/commons/library/{r.pk}/discuss/")
    r.refresh_from_db()
    assert r.thread is not None and first["Location"] == second["Location"] == r.thread.get_absolute_url()
    thread_page = client.get(r.thread.get_absolute_url()).content.decode()
    assert f"/c/commons/library/{r.pk}/" in thread_page
    assert "Discussion (0 replies)" in client.get(r.get_absolute_url()).content.decode()


def test_feeds_for_public_communities_only(client, world, conversation):
    factories.resource(world.member, world.public, kind="tool", title="Feed tool", description="x")
    feed = client.get("/c/commons/feeds/threads/")
    assert feed.status_code == 200 and feed["Content-Type"].startswith("application/atom+xml")
    assert b"How do you assess pain in delirium?" in feed.content
    assert b"Feed tool" in client.get("/c/commons/feeds/resources/").content
    client.force_login(world.member)  # even a member gets no private feed: feeds are public by nature
    for url in ["/c/circle/feeds/threads/", "/c/circle/feeds/resources/"]:
        response = client.get(url)
        # The whole title: three letters alone can turn up in the page's random CSRF token.
        assert response.status_code == 404 and b"Yak canary" not in response.content


def test_feed_readers_find_a_public_communitys_feeds_from_its_pages(client, world):
    import html5lib

    def alternates(url):
        tree = html5lib.parse(client.get(url).content, namespaceHTMLElements=False)
        return [
            (link.get("type"), link.get("href"), link.get("title"))
            for link in tree.findall("./head/link")
            if link.get("rel") == "alternate"
        ]

    expected = [
        ("application/atom+xml", "/c/commons/feeds/threads/", "Ward Commons: new conversations"),
        ("application/atom+xml", "/c/commons/feeds/resources/", "Ward Commons: new resources"),
    ]
    assert alternates("/c/commons/") == alternates("/c/commons/library/") == expected
    for _type, href, _title in expected:
        assert client.get(href).status_code == 200
    client.force_login(world.member)  # a private community has no feeds to point at
    assert alternates("/c/circle/") == alternates("/c/circle/library/") == []


def test_search_finds_visible_content_with_snippets_and_never_private(client, world, conversation):
    factories.resource(
        world.member, world.public, title="Abbey scale how-to", description="Use the abbey scale at night"
    )
    factories.resource(world.member, world.private, title="Abbey quokka secret", description="private abbey notes")
    page = client.get("/search/", {"q": "abbey"}).content.decode()
    assert "Abbey scale how-to" in page and "<mark>" in page
    assert "Reply in" in page  # Fern's reply mentions the abbey scale
    assert "quokka" not in page.lower()
    client.force_login(world.member)
    page = client.get("/search/", {"q": "quokka"}).content.decode()
    assert "Abbey quokka secret" in page
    client.force_login(world.outsider)
    for q in ['"abbey', "abbey & | ! quokka", "x" * 5000, "<script>alert(1)</script>", "\x00", ""]:
        response = client.get("/search/", {"q": q, "kind": "resources"})
        # A NUL can't reach PostgreSQL: the middleware answers 400 before the search runs.
        assert response.status_code == (400 if "\x00" in q else 200)
        assert b"Abbey quokka secret" not in response.content and b"private abbey" not in response.content
        assert b"<script>alert" not in response.content


def test_library_and_search_query_counts_do_not_grow(client, world, django_assert_max_num_queries):
    def fill(n):
        for i in range(n):
            factories.resource(
                world.member,
                world.public,
                kind="tool",
                title=f"Tool {i} abbey",
                description="abbey",
                tags=["a", f"t{i}"],
            )

    client.force_login(world.member)
    fill(3)
    with django_assert_max_num_queries(12) as small:
        client.get("/c/commons/library/")
    with django_assert_max_num_queries(12) as small_search:
        client.get("/search/", {"q": "abbey"})
    fill(30)
    with django_assert_max_num_queries(len(small)):
        client.get("/c/commons/library/")
    with django_assert_max_num_queries(len(small_search)):
        client.get("/search/", {"q": "abbey"})
