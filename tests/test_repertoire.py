"""The curated repertoire: status (draft, endorsed, superseded), owners, reviews, links to discussions,
restore after removal, earlier file versions, and the library's filters keeping pinned resources."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from communities.models import AuditEntry
from resources import services
from resources.models import Resource, ResourceFileVersion, ResourceReview, ResourceThread
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]

PDF_1 = b"%PDF-1.4\n% first\n%%EOF"
PDF_2 = b"%PDF-1.4\n% second, revised\n%%EOF"


def url(resource: Resource, action: str = "") -> str:
    return resource.get_absolute_url() + (f"{action}/" if action else "")


def text(response) -> str:
    return response.content.decode()


# --- Status: draft, endorsed, superseded ------------------------------------------------------------


def test_a_draft_is_seen_by_its_owner_and_facilitators_only(client, world):
    draft = services.add_resource(
        world.member,
        world.public,
        fields={"kind": "howto", "title": "Half-done checklist", "description": "wip"},
        tags=[],
        draft=True,
    )
    assert draft.is_draft and draft.owner == world.member
    for viewer, status in ((world.member, 200), (world.facilitator, 200), (world.outsider, 404), (None, 404)):
        client.logout()
        if viewer is not None:
            client.force_login(viewer)
        assert client.get(url(draft)).status_code == status, viewer
    # Not in the library's list, feed or search for others; under "Drafts" for the owner.
    client.force_login(world.outsider)
    assert "Half-done checklist" not in text(client.get("/c/commons/library/"))
    assert "Half-done checklist" not in text(client.get("/c/commons/library/?status=draft"))
    client.force_login(world.member)
    assert "Half-done checklist" in text(client.get("/c/commons/library/?status=draft"))
    assert "Half-done checklist" not in text(client.get("/c/commons/library/"))


def test_the_owner_publishes_a_draft_through_the_form_and_page(client, world):
    client.force_login(world.member)
    response = client.post(
        "/c/commons/library/add/", {"kind": "howto", "title": "Draft guide", "description": "x", "draft": "on"}
    )
    draft = Resource.objects.get(title="Draft guide")
    assert response.status_code == 302 and draft.is_draft
    client.force_login(world.outsider)
    assert client.post(url(draft, "publish")).status_code == 404
    client.force_login(world.member)
    assert client.post(url(draft, "publish")).status_code == 302
    draft.refresh_from_db()
    assert draft.status == Resource.Status.PUBLISHED
    client.force_login(world.outsider)
    assert "Draft guide" in text(client.get("/c/commons/library/"))


def test_a_facilitator_endorses_with_name_and_date_and_it_is_audited(client, world):
    resource = factories.resource(world.member, world.public, title="Pain scale card", description="x")
    client.force_login(world.member)
    assert client.post(url(resource, "endorse")).status_code == 403
    client.force_login(world.outsider)
    assert client.post(url(resource, "endorse")).status_code == 403
    client.logout()
    assert client.post(url(resource, "endorse")).status_code in (302, 403)
    resource.refresh_from_db()
    assert resource.status == Resource.Status.PUBLISHED
    client.force_login(world.facilitator)
    assert client.post(url(resource, "endorse")).status_code == 302
    resource.refresh_from_db()
    assert resource.is_endorsed and resource.endorsed_by == world.facilitator and resource.endorsed_at
    page = text(client.get(url(resource)))
    assert "Endorsed by Fern Facilitator on" in page
    assert AuditEntry.objects.filter(action="resource.endorse", community=world.public).exists()


def test_endorse_and_supersede_are_posts_only(client, world):
    resource = factories.resource(world.member, world.public, title="Card", description="x")
    client.force_login(world.facilitator)
    assert client.get(url(resource, "endorse")).status_code == 405


def test_superseding_shows_the_banner_unpins_and_leaves_the_current_list(client, world):
    old = factories.resource(world.member, world.public, title="Old sepsis card", description="x")
    new = factories.resource(world.member, world.public, title="New sepsis card", description="y")
    services.set_pin(world.facilitator, old, "pin")
    services.set_pin(world.facilitator, new, "pin")
    client.force_login(world.member)
    assert client.post(url(old, "supersede"), {"replacement": new.pk}).status_code == 403
    client.force_login(world.facilitator)
    form = text(client.get(url(old, "supersede")))
    assert "New sepsis card" in form
    assert client.post(url(old, "supersede"), {"replacement": new.pk}).status_code == 302
    old.refresh_from_db()
    new.refresh_from_db()
    assert old.is_superseded and old.superseded_by == new and old.pin_position is None
    assert new.pin_position == 1  # the others' positions stay dense
    page = text(client.get(url(old)))
    assert "This resource is superseded." in page and "Replaced by" in page and new.get_absolute_url() in page
    library = text(client.get("/c/commons/library/"))
    assert "Old sepsis card" not in library and "New sepsis card" in library
    assert "Old sepsis card" in text(client.get("/c/commons/library/?status=superseded"))
    assert "Old sepsis card" not in text(client.get("/c/commons/"))
    assert AuditEntry.objects.filter(action="resource.supersede").exists()
    # A superseded resource can't be pinned again.
    with pytest.raises(services.ResourceError):
        services.set_pin(world.facilitator, old, "pin")


def test_a_replacement_must_be_of_the_same_library_and_visible(client, world):
    old = factories.resource(world.facilitator, world.public, title="Old", description="x")
    elsewhere = factories.resource(world.owner, world.private, title="Zebra secret", description="x")
    draft = services.add_resource(
        world.member, world.public, fields={"kind": "howto", "title": "Draft", "description": "x"}, tags=[], draft=True
    )
    client.force_login(world.facilitator)
    assert "Zebra secret" not in text(client.get(url(old, "supersede")))
    for hostile in (str(elsewhere.pk), str(old.pk), str(draft.pk), "0", "-1", "abc", "1 OR 1=1", "' OR ''='"):
        response = client.post(url(old, "supersede"), {"replacement": hostile})
        assert response.status_code == 200, hostile
        assert "Select a valid choice" in text(response) or "Choose" in text(response)
    old.refresh_from_db()
    assert old.status == Resource.Status.PUBLISHED
    with pytest.raises(services.ResourceError):
        services.supersede_resource(world.facilitator, old, elsewhere)
    with pytest.raises(services.ResourceError):
        services.supersede_resource(world.facilitator, old, old)


def test_superseded_resources_leave_digests(world):
    from digests.content import Pool

    now = timezone.now()
    old = factories.resource(world.member, world.public, title="Old", description="x")
    new = factories.resource(world.member, world.public, title="New", description="x")
    services.supersede_resource(world.facilitator, old, new)
    pool = Pool.gather([world.public], now - timedelta(days=1), now + timedelta(minutes=1))
    assert [r.title for r in pool.resources] == ["New"]


def test_private_community_status_actions_are_invisible_to_outsiders(client, world):
    resource = factories.resource(world.owner, world.private, title="Circle card", description="x")
    client.force_login(world.outsider)
    for action in ("endorse", "publish", "supersede", "review", "link"):
        assert client.post(url(resource, action), {}).status_code == 404, action
    client.force_login(world.other_facilitator)
    assert client.post(url(resource, "endorse")).status_code == 404


# --- Reviews ----------------------------------------------------------------------------------------


def test_due_for_review_on_the_dashboard_and_recording_a_review(client, world):
    today = timezone.localdate()
    due = factories.resource(
        world.member, world.public, title="Falls bundle", description="x", review_by=today - timedelta(days=2)
    )
    factories.resource(
        world.member, world.public, title="Not yet", description="x", review_by=today + timedelta(days=9)
    )
    client.force_login(world.facilitator)
    dashboard = text(client.get("/c/commons/facilitate/"))
    assert "Due for review" in dashboard and "Falls bundle" in dashboard and "Not yet" not in dashboard
    listing = text(client.get("/c/commons/library/due/"))
    assert "Falls bundle" in listing and "Not yet" not in listing
    next_date = today + timedelta(days=180)
    response = client.post(
        url(due, "review"),
        {"checked": "Links work; matches the 2026 guideline.", "next_review_by": next_date, "next": "due"},
    )
    assert response.status_code == 302 and response["Location"] == "/c/commons/library/due/"
    review = ResourceReview.objects.get()
    assert review.reviewer == world.facilitator and review.next_review_by == next_date
    due.refresh_from_db()
    assert due.review_by == next_date
    assert "Nothing is due for review." in text(client.get("/c/commons/library/due/"))
    assert "matches the 2026 guideline" in text(client.get(url(due)))
    assert AuditEntry.objects.filter(action="resource.review").exists()


def test_only_facilitators_see_the_review_list_and_review(client, world):
    resource = factories.resource(world.member, world.public, title="Card", description="x")
    for viewer in (world.member, world.outsider):
        client.force_login(viewer)
        assert client.get("/c/commons/library/due/").status_code == 403
        assert client.get(url(resource, "review")).status_code == 403
        response = client.post(url(resource, "review"), {"checked": "x", "next_review_by": "2099-01-01"})
        assert response.status_code == 403
        assert "Due for review" not in text(client.get("/c/commons/facilitate/"))
    assert not ResourceReview.objects.exists()
    client.force_login(world.outsider)
    assert client.get("/c/circle/library/due/").status_code == 404


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"checked": "", "next_review_by": "2099-01-01"}, "This field is required."),
        ({"checked": "   ", "next_review_by": "2099-01-01"}, "This field is required."),
        ({"checked": "ok", "next_review_by": "2001-01-01"}, "must be in the future"),
        ({"checked": "ok", "next_review_by": "not a date"}, "Enter a valid date."),
        ({"checked": "ok", "next_review_by": "9999-12-31"}, "within the next ten years"),
        ({"checked": "ok\u202egnp.exe", "next_review_by": "2099-01-01"}, "control or invisible"),
        ({"checked": "x" * 2001, "next_review_by": "2099-01-01"}, "at most 2000 characters"),
    ],
)
def test_a_review_form_refuses_bad_input_and_keeps_what_was_typed(client, world, data, error):
    resource = factories.resource(world.member, world.public, title="Card", description="x")
    client.force_login(world.facilitator)
    data = {**data, "checked": data["checked"] or "", "extra": "<script>alert(1)</script>"}
    response = client.post(url(resource, "review"), data)
    page = text(response)
    assert response.status_code == 200 and error in page
    if data["checked"].strip() and len(data["checked"]) < 100 and "\u202e" not in data["checked"]:
        assert data["checked"] in page
    assert "<script>alert(1)</script>" not in page
    assert not ResourceReview.objects.exists()


def test_the_facilitators_digest_has_a_due_for_review_section(world):
    from digests.content import Pool, readers_for, section_for

    today = timezone.localdate()
    factories.resource(world.member, world.public, title="Falls bundle", description="x", review_by=today)
    now = timezone.now()
    start = now - timedelta(days=1)
    pool = Pool.gather([world.public], start, now + timedelta(minutes=1))
    readers = readers_for([world.facilitator.pk, world.member.pk], {}, pool)
    facilitator = section_for(readers[world.facilitator.pk], world.public, start, now, pool)
    member = section_for(readers[world.member.pk], world.public, start, now, pool)
    assert [r.title for r in facilitator.due_for_review] == ["Falls bundle"]
    assert member.due_for_review == []


def test_the_digest_pool_costs_the_same_queries_for_more_facilitators_and_due_resources(
    world, make_user, django_assert_max_num_queries
):
    from digests.content import Pool

    today = timezone.localdate()
    now = timezone.now()
    factories.resource(world.member, world.public, title="Due 0", description="x", review_by=today)
    with django_assert_max_num_queries(100) as few:
        Pool.gather([world.public], now - timedelta(days=1), now)
    for i in range(6):
        factories.resource(world.member, world.public, title=f"Due {i + 1}", description="x", review_by=today)
        person = make_user(f"fac{i}")
        factories.membership(person, world.public, role="facilitator")
    with django_assert_max_num_queries(len(few)):
        Pool.gather([world.public], now - timedelta(days=1), now)


# --- Links to discussions ---------------------------------------------------------------------------


def test_produced_by_and_discussed_in_both_ways(client, world):
    resource = factories.resource(world.member, world.public, title="Night checklist", description="x")
    origin = factories.thread(world.member, world.public, title="How we do nights")
    later = factories.thread(world.facilitator, world.public, title="Using the night checklist")
    client.force_login(world.member)  # the owner
    response = client.post(url(resource, "link"), {"thread": origin.get_absolute_url(), "relation": "produced_by"})
    assert response.status_code == 302
    client.force_login(world.facilitator)
    assert client.post(url(resource, "link"), {"thread": str(later.pk), "relation": "discussed_in"}).status_code == 302
    page = text(client.get(url(resource)))
    assert "Produced by: " in page and "How we do nights" in page
    assert "Discussed in: " in page and "Using the night checklist" in page
    thread_page = text(client.get(origin.get_absolute_url()))
    assert "Produced: " in thread_page and "Night checklist" in thread_page
    assert "Discusses: " in text(client.get(later.get_absolute_url()))
    # Unlinking.
    link = ResourceThread.objects.get(relation="discussed_in")
    assert client.post(url(resource, f"link/{link.pk}/remove")).status_code == 302
    assert "Discussed in: " not in text(client.get(url(resource)))


def test_linking_is_for_the_owner_and_facilitators_and_threads_of_the_same_community(client, world, make_user):
    resource = factories.resource(world.facilitator, world.public, title="Card", description="x")
    thread = factories.thread(world.member, world.public, title="Here")
    secret = factories.thread(world.owner, world.private, title="Zebra secret thread")
    client.force_login(world.member)  # a member, not the owner
    response = client.post(url(resource, "link"), {"thread": str(thread.pk), "relation": "produced_by"})
    assert response.status_code == 400 and not ResourceThread.objects.exists()
    client.force_login(world.facilitator)
    for hostile in (str(secret.pk), secret.get_absolute_url(), "99999999", "javascript:alert(1)", "<b>1</b>", ""):
        response = client.post(url(resource, "link"), {"thread": hostile, "relation": "produced_by"})
        assert response.status_code == 400, hostile
        assert "Zebra secret thread" not in text(response)
    response = client.post(url(resource, "link"), {"thread": str(thread.pk), "relation": "owns"})
    assert response.status_code == 400 and "Select a valid choice" in text(response)
    assert f'value="{thread.pk}"' in text(response)  # what was typed is kept
    assert not ResourceThread.objects.exists()


def test_a_link_to_a_thread_moved_out_of_sight_shows_nothing(client, world):
    resource = factories.resource(world.member, world.public, title="Card", description="x")
    thread = factories.thread(world.member, world.public, title="Moved away later")
    services.link_thread(world.facilitator, resource, thread, "discussed_in")
    type(thread).objects.filter(pk=thread.pk).update(community=world.private)
    client.force_login(world.outsider)
    page = text(client.get(url(resource)))
    assert "Moved away later" not in page and "Discussed in" not in page


def test_the_thread_page_hides_resources_the_reader_cannot_see(client, world):
    draft = services.add_resource(
        world.member,
        world.public,
        fields={"kind": "howto", "title": "Secret draft", "description": "x"},
        tags=[],
        draft=True,
    )
    thread = factories.thread(world.member, world.public, title="Origin")
    services.link_thread(world.member, draft, thread, "produced_by")
    client.force_login(world.outsider)
    assert "Secret draft" not in text(client.get(thread.get_absolute_url()))
    client.force_login(world.member)
    assert "Secret draft" in text(client.get(thread.get_absolute_url()))


# --- Removal, restore, purge ------------------------------------------------------------------------


def test_a_facilitator_restores_a_removed_resource_within_30_days(client, world):
    resource = factories.resource(world.member, world.public, title="Oops removed", description="x")
    services.set_pin(world.facilitator, resource, "pin")
    services.remove_resource(world.member, resource)
    client.force_login(world.member)
    assert client.get("/c/commons/library/removed/").status_code == 403
    assert client.post(f"/c/commons/library/{resource.pk}/restore/").status_code == 403
    client.force_login(world.facilitator)
    assert "Oops removed" in text(client.get("/c/commons/library/removed/"))
    assert client.post(f"/c/commons/library/{resource.pk}/restore/").status_code == 302
    resource.refresh_from_db()
    assert resource.removed_at is None and resource.pin_position is None
    assert client.get(url(resource)).status_code == 200
    assert AuditEntry.objects.filter(action="resource.restore").exists()


def test_past_30_days_it_cannot_be_restored_and_the_purge_deletes_it_with_its_files(
    client, world, django_capture_on_commit_callbacks
):
    resource = factories.resource(
        world.member, world.public, kind="file", title="Old plan", description="x", file=("plan.pdf", PDF_1)
    )
    services.edit_resource(
        world.member, resource, fields={}, tags=[], upload=factories.SimpleUploadedFile("plan.pdf", PDF_2)
    )
    files = [resource.file.path, ResourceFileVersion.objects.get().file.path]
    services.remove_resource(world.member, resource)
    Resource.objects.filter(pk=resource.pk).update(removed_at=timezone.now() - timedelta(days=31))
    client.force_login(world.facilitator)
    assert "Old plan" not in text(client.get("/c/commons/library/removed/"))
    response = client.post(f"/c/commons/library/{resource.pk}/restore/")
    assert response.status_code == 302
    assert Resource.objects.get(pk=resource.pk).removed_at is not None
    kept = factories.resource(world.member, world.public, title="Removed yesterday", description="x")
    services.remove_resource(world.member, kept)
    from resources.tasks import purge_removed

    with django_capture_on_commit_callbacks(execute=True):
        assert purge_removed() == 1
    assert not Resource.objects.filter(pk=resource.pk).exists()
    assert not ResourceFileVersion.objects.exists()
    assert Resource.objects.filter(pk=kept.pk).exists()
    assert not any(Path(name).exists() for name in files)


# --- File versions ----------------------------------------------------------------------------------


def test_a_replaced_file_keeps_its_earlier_version_to_download_and_restore(client, world):
    resource = factories.resource(
        world.member, world.private, kind="file", title="Plan", description="x", file=("plan-v1.pdf", PDF_1)
    )
    client.force_login(world.member)
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(
        url(resource, "edit"),
        {"kind": "file", "title": "Plan", "description": "x", "upload": SimpleUploadedFile("plan-v2.pdf", PDF_2)},
    )
    assert response.status_code == 302
    version = ResourceFileVersion.objects.get()
    assert version.file_name == "plan-v1.pdf"
    page = text(client.get(url(resource)))
    assert "Earlier versions" in page and "plan-v1.pdf" in page
    download = client.get(url(resource, f"versions/{version.pk}"))
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF_1
    assert download["Content-Disposition"].startswith("attachment")
    assert download["X-Content-Type-Options"] == "nosniff" and "sandbox" in download["Content-Security-Policy"]
    # Outsiders: nothing, not even that it exists.
    client.force_login(world.outsider)
    assert client.get(url(resource, f"versions/{version.pk}")).status_code == 404
    assert client.post(url(resource, f"versions/{version.pk}/restore")).status_code == 404
    # Another member can download but not restore.
    client.force_login(world.facilitator)
    other = factories.resource(world.facilitator, world.private, title="Other", description="x")
    assert client.get(other.get_absolute_url() + f"versions/{version.pk}/").status_code == 404
    client.force_login(world.member)
    assert client.post(url(resource, f"versions/{version.pk}/restore")).status_code == 302
    resource.refresh_from_db()
    assert resource.file_name == "plan-v1.pdf"
    with resource.file.open("rb") as f:
        assert f.read() == PDF_1
    assert list(ResourceFileVersion.objects.values_list("file_name", flat=True)) == ["plan-v2.pdf"]


def test_a_member_who_is_not_the_owner_cannot_restore_a_version(client, world, make_user):
    resource = factories.resource(
        world.facilitator, world.public, kind="file", title="Plan", description="x", file=("v1.pdf", PDF_1)
    )
    from django.core.files.uploadedfile import SimpleUploadedFile

    services.edit_resource(world.facilitator, resource, fields={}, tags=[], upload=SimpleUploadedFile("v2.pdf", PDF_2))
    version = ResourceFileVersion.objects.get()
    client.force_login(world.member)
    assert client.get(url(resource, f"versions/{version.pk}")).status_code == 200
    assert client.post(url(resource, f"versions/{version.pk}/restore")).status_code == 403
    assert client.get(url(resource, f"versions/{version.pk}/restore")).status_code == 405


# --- The library's filters and pinned order ---------------------------------------------------------


# --- Hostile input ----------------------------------------------------------------------------------


def test_hostile_library_query_strings_are_harmless(client, world):
    factories.resource(world.member, world.public, title="Card", description="x")
    for query in ("?status=removed", "?status=<script>", "?kind=' OR 1=1", "?tag=" + "x" * 500, "?sort=pk"):
        response = client.get("/c/commons/library/" + query)
        assert response.status_code == 200 and "<script>" not in text(response).split("</head>")[1].replace(
            "&lt;script&gt;", ""
        )


def test_the_review_by_field_refuses_far_dates_and_keeps_input(client, world):
    client.force_login(world.member)
    response = client.post(
        "/c/commons/library/add/",
        {"kind": "howto", "title": "Kept title", "description": "x", "review_by": "3000-01-01"},
    )
    assert response.status_code == 200 and "within the next ten years" in text(response)
    assert "Kept title" in text(response) and not Resource.objects.exists()
    response = client.post(
        "/c/commons/library/add/", {"kind": "howto", "title": "Kept title", "description": "x", "review_by": "soon"}
    )
    assert "Enter a valid date." in text(response)


# --- Query budgets ----------------------------------------------------------------------------------


def test_the_resource_page_and_library_queries_do_not_grow(client, world, django_assert_max_num_queries):
    from django.core.files.uploadedfile import SimpleUploadedFile

    target = factories.resource(
        world.member, world.public, kind="file", title="Target", description="x", file=("a.pdf", PDF_1)
    )
    new = factories.resource(world.member, world.public, title="Newer", description="x")

    def grow(n: int) -> None:
        for i in range(n):
            thread = factories.thread(world.member, world.public, title=f"T{i}-{timezone.now().timestamp()}")
            services.link_thread(world.facilitator, target, thread, "discussed_in" if i % 2 else "produced_by")
            services.edit_resource(
                world.member, target, fields={}, tags=[f"t{i}"], upload=SimpleUploadedFile(f"v{i}.pdf", PDF_2)
            )
            services.record_review(
                world.facilitator, target, checked="ok", next_review_by=timezone.localdate() + timedelta(days=5)
            )
            r = factories.resource(
                world.member, world.public, kind="tool", title=f"Tool {i}", description="x", tags=["a"]
            )
            if i % 2:
                services.set_pin(world.facilitator, r, "pin")

    grow(1)
    client.force_login(world.facilitator)
    client.get("/c/commons/")
    with django_assert_max_num_queries(40) as small_page:
        assert client.get(url(target)).status_code == 200
    with django_assert_max_num_queries(40) as small_library:
        assert client.get("/c/commons/library/?kind=tool&tag=a").status_code == 200
    grow(6)
    services.supersede_resource(world.facilitator, target, new)
    with django_assert_max_num_queries(len(small_page)):
        assert client.get(url(target)).status_code == 200
    with django_assert_max_num_queries(len(small_library)):
        assert client.get("/c/commons/library/?kind=tool&tag=a").status_code == 200
    print(f"resource page: {len(small_page)} queries; filtered library: {len(small_library)} queries")


def test_the_due_for_review_section_renders_in_the_digest_email(world):
    from django.template.loader import render_to_string

    from digests import rendering
    from digests.content import Pool, readers_for, section_for

    factories.resource(
        world.member, world.public, title="Falls bundle", description="x", review_by=timezone.localdate()
    )
    factories.resource(world.member, world.public, title="Fresh card", description="x")
    now = timezone.now()
    start = now - timedelta(days=1)
    pool = Pool.gather([world.public], start, now + timedelta(minutes=1))
    reader = readers_for([world.facilitator.pk], {}, pool)[world.facilitator.pk]
    section = rendering.Entries(site_url="https://cop.example").attach(
        section_for(reader, world.public, start, now + timedelta(minutes=1), pool)
    )
    context = {"section": section, "site_url": "https://cop.example"}
    plain = render_to_string("digests/email/_section.txt", context)
    html = render_to_string("digests/email/_section.html", context)
    assert "Due for review" in plain and "Falls bundle" in plain and "https://cop.example/c/commons/library/" in plain
    assert "Due for review" in html and "Falls bundle" in html
