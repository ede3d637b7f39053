"""The library through the HTTP layer: the authorization matrix and what must never leak around it.

The authorization matrix, object ids, cross-object ids, derived pages and revocation for resources,
(a) A-upload's "stored under a generated name", and (d) D-thread-page-queries for the library.

The matrix: 9 roles × {open, private} × 13 actions. One test per role and
visibility builds the ``world`` and its resources once (files on disk under a
per-test MEDIA_ROOT) and runs every action as a subtest
(``role-visibility-action``) inside a savepoint that is rolled back afterwards,
so each cell starts from the same database and one cell's write can't satisfy
or spoil another's.

Outcomes (tests/matrix.py): R 200 and content · P performed · L redirect
to login, nothing changed · F 403 with a message, nothing changed · N 404,
nothing changed, and the private library's canaries ("Quetzalcoatlus",
"quetzal-notes.pdf", "Ocelot", the community's name, slug and domain) nowhere
in the body or headers. "O" (own resource only) is the pair edit_own/remove_own
= P and edit_other/remove_other = F for a member.

"Own resource" for people who may not post: one they added while they were a
member (outsiders and the other community's facilitator have since left, the
pending person asked to come back, the banned one was banned). It gives them
no rights back. Anonymous visitors own nothing: their own-resource cells are
not run.

"Nothing changed" covers Resource rows and fields, tags, ResourceReaction,
AuditEntry, threads and posts, ledger rows (visits excluded: reading records
one), memberships, and the files stored under MEDIA_ROOT.
"""

from __future__ import annotations

import html
import io
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from PIL import Image
from taggit.models import TaggedItem

from communities import services as community_services
from communities.models import Activity, AuditEntry, Community, Membership
from discovery import search
from discussions.models import Post, Thread
from resources import services
from resources.models import Resource, ResourceReaction
from tests import factories, matrix
from tests.matrix import MAY_POST, OUTSIDERS_OF_PRIVATE, ROLES, VISIBILITIES
from tests.media import stored_files

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]
State = Membership.State

ACTIONS = [
    "view_library",
    "view_resource",
    "download",
    "preview",
    "add",
    "edit_own",
    "edit_other",
    "remove_own",
    "remove_other",
    "pin",
    "helpful",
    "helpful_htmx",
    "discuss",
]
READS = {"view_library", "view_resource", "download", "preview"}
OWN_ACTIONS = {"edit_own", "remove_own"}
MODERATION = {"edit_other", "remove_other", "pin"}

PAST_MEMBER_STATE = {
    "outsider": State.LEFT,
    "other_facilitator": State.LEFT,
    "pending": State.PENDING,
    "banned": State.BANNED,
}

PDF = b"%PDF-1.4\n%%EOF"
CANARY = "Quetzalcoatlus"
PRIVATE_NOTES = {
    "title": f"{CANARY} dosing notes",
    "description": "Ocelot protocol for the night shift.",
    "file": "quetzal-notes.pdf",
}
PRIVATE_POSTER = {"title": f"{CANARY} ward poster", "description": "Ocelot chart.", "file": "quetzal-poster.png"}
PUBLIC_NOTES = {"title": "Ward pain plan", "description": "Our template for nights.", "file": "pain-plan.pdf"}
PUBLIC_POSTER = {"title": "Pain scale poster", "description": "For the staff room.", "file": "pain-poster.png"}
# Nothing of the private library may show to someone who can't see it: the resources'
# words and file names, and the community's name, domain and slug (test_authorization_matrix).
CANARIES_404 = (CANARY, "quetzal", "Ocelot", "Zebra", "Quince", "Xylophone", "circle")
# On ordinary pages "circle" is too common a word: look for the slug in a URL instead.
CANARIES_PAGE = (CANARY, "quetzal", "Ocelot", "Zebra", "Quince", "Xylophone", "/c/circle/")


def png_bytes(size=(40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(out, format="PNG")
    return out.getvalue()


# --- Expected outcome of each cell -----------------------------------------------------


def expected(role: str, visibility: str, action: str) -> str | None:
    return matrix.expected(role, visibility, action, reads=READS, own_actions=OWN_ACTIONS, moderation=MODERATION)


CELLS = matrix.cells(ACTIONS, reads=READS, own_actions=OWN_ACTIONS, moderation=MODERATION)


# --- Helpers ------------------------------------------------------------------------------


person = matrix.person


def snapshot(root: Path) -> dict:
    """Everything a refused or read-only request must leave alone."""
    return {
        "resources": sorted(
            Resource.objects.values_list(
                "id",
                "community_id",
                "kind",
                "title",
                "description",
                "url",
                "file",
                "file_name",
                "file_type",
                "file_size",
                "preview",
                "added_by_id",
                "updated_at",
                "removed_at",
                "pin_position",
                "helpful_count",
                "thread_id",
                "search_text",
            )
        ),
        "tags": sorted(TaggedItem.objects.values_list("id", "tag_id", "object_id", "content_type_id")),
        "reactions": sorted(ResourceReaction.objects.values_list("id", "resource_id", "user_id")),
        "audit": sorted(AuditEntry.objects.values_list("id", "action", "actor_id")),
        "threads": sorted(Thread.objects.values_list("id", "community_id", "title")),
        "posts": Post.objects.count(),
        "activity": Activity.objects.exclude(kind=Activity.Kind.VISIT).count(),
        "memberships": sorted(Membership.objects.values_list("id", "user_id", "community_id", "role", "state")),
        "files": stored_files(root),
    }


# What each performed action may change; everything else must stay as it was.
CHANGES = {
    "add": {"resources", "tags", "activity", "files"},
    "edit_own": {"resources", "tags"},
    "edit_other": {"resources", "tags", "audit"},
    "remove_own": {"resources", "audit"},
    "remove_other": {"resources", "audit"},
    "pin": {"resources", "audit"},
    "helpful": {"resources", "reactions", "activity"},
    "helpful_htmx": {"resources", "reactions", "activity"},
    "discuss": {"resources", "tags", "threads", "posts", "activity"},
}


def text_of(response) -> str:
    return html.unescape(response.content.decode())


def headers_of(response) -> str:
    return "\n".join(f"{k}: {v}" for k, v in response.headers.items())


def assert_not_found_and_silent(response) -> None:
    assert response.status_code == 404, response.status_code
    body = response.content.decode()
    assert "<title>Page not found" in body
    assert "Content-Disposition" not in response.headers
    headers = headers_of(response)
    for canary in CANARIES_404:
        assert canary.lower() not in body.lower(), f"{canary!r} in the 404 body"
        assert canary.lower() not in headers.lower(), f"{canary!r} in the 404 headers"


def assert_no_canary(response, canaries=CANARIES_PAGE) -> None:
    body, headers = text_of(response).lower(), headers_of(response).lower()
    for canary in canaries:
        assert canary.lower() not in body, f"{canary!r} in {response.request['PATH_INFO']}"
        assert canary.lower() not in headers, f"{canary!r} in the headers of {response.request['PATH_INFO']}"


def assert_login_redirect(response, next_path: str) -> None:
    assert response.status_code == 302, response.status_code
    assert response["Location"] == f"/accounts/login/?next={quote(next_path, safe='/')}"


def assert_forbidden(response, *, htmx: bool = False) -> None:
    assert response.status_code == 403, f"{response.status_code} (Location: {response.get('Location')})"
    if htmx:
        assert response.content.strip(), "a refused htmx request should say why"
    else:
        assert "<title>Not allowed" in response.content.decode()


def add_file_resource(user, community, words: dict, upload: bytes, kind: str = "file", tags=()) -> Resource:
    return factories.resource(
        user,
        community,
        kind=kind,
        title=words["title"],
        description=words["description"],
        tags=tags,
        file=(words["file"], upload),
    )


def make_scene(world, visibility: str) -> SimpleNamespace:
    """A member's PDF and a facilitator's image in the community the cells act on."""
    s = SimpleNamespace()
    private = visibility == "private"
    s.community = world.private if private else world.public
    s.slug = s.community.slug
    s.private = private
    s.by_member = add_file_resource(
        world.member, s.community, PRIVATE_NOTES if private else PUBLIC_NOTES, PDF, tags=["nights"]
    )
    s.by_facilitator = add_file_resource(
        world.facilitator, s.community, PRIVATE_POSTER if private else PUBLIC_POSTER, png_bytes()
    )
    assert s.by_facilitator.preview, "the image resource needs a preview for the preview cells"
    return s


def other_resource(scene, role: str) -> Resource:
    """Somebody else's resource: the member's, or (for the member) the facilitator's."""
    return scene.by_facilitator if role == "member" else scene.by_member


def own_resource(world, scene, role: str) -> Resource:
    user = person(world, role)
    community = Community.objects.get(pk=scene.community.pk)  # no membership cache from earlier cells
    fields = {
        "kind": "tool",
        "title": f"Own checklist of {role}" + (f" {CANARY}" if scene.private else ""),
        "description": "A checklist",
    }
    if role in MAY_POST:
        return services.add_resource(user, community, fields=fields, tags=[])
    membership, _ = Membership.objects.get_or_create(user=user, community=community)
    Membership.objects.filter(pk=membership.pk).update(state=State.ACTIVE)
    resource = services.add_resource(user, community, fields=fields, tags=[])
    Membership.objects.filter(pk=membership.pk).update(state=PAST_MEMBER_STATE[role])
    return resource


ADDED_TITLE = "Added in the matrix"
EDITED_TITLE = "Edited in the matrix"


def request_for(action: str, scene, target: Resource):
    """(method, path, data, htmx, login-next path) for one action."""
    base = f"/c/{scene.slug}/library/"
    detail = f"{base}{target.pk}/"
    if action == "view_library":
        return "get", base, None, False, None
    if action == "view_resource":
        return "get", detail, None, False, None
    if action == "download":
        return "get", f"{base}{scene.by_member.pk}/file/", None, False, None
    if action == "preview":
        return "get", f"{base}{scene.by_facilitator.pk}/preview.png", None, False, None
    if action == "add":
        data = {
            "kind": "file",
            "title": ADDED_TITLE,
            "description": "Fresh from the matrix",
            "tags": "matrix",
            "upload": SimpleUploadedFile("matrix-handout.pdf", PDF),
        }
        return "post", f"{base}add/", data, False, f"{base}add/"
    if action.startswith("edit"):
        data = {"kind": target.kind, "title": EDITED_TITLE, "description": "Edited words", "tags": ""}
        return "post", f"{detail}edit/", data, False, f"{detail}edit/"
    if action.startswith("remove"):
        return "post", f"{detail}remove/", {}, False, f"{detail}remove/"
    if action == "pin":
        return "post", f"{detail}pin/", {"action": "pin"}, False, detail
    if action in ("helpful", "helpful_htmx"):
        return "post", f"{detail}helpful/", {}, action == "helpful_htmx", detail
    assert action == "discuss"
    return "post", f"{detail}discuss/", {}, False, detail


# --- The matrix -----------------------------------------------------------------------------


@pytest.mark.parametrize("visibility", VISIBILITIES)
@pytest.mark.parametrize("role", ROLES)
def test_matrix(world, media_root, subtests, role, visibility):
    scene = make_scene(world, visibility)
    user = person(world, role)
    for action in ACTIONS:
        outcome = expected(role, visibility, action)
        if outcome is None:
            continue
        with subtests.test(msg=f"{role}-{visibility}-{action}"), transaction.atomic():
            _run_cell(world, scene, media_root, user, role, action, outcome)
            transaction.set_rollback(True)


def _run_cell(world, scene, root: Path, user, role: str, action: str, outcome: str) -> None:
    client = Client()
    if user is not None:
        client.force_login(user)
    target = own_resource(world, scene, role) if action in OWN_ACTIONS else other_resource(scene, role)
    method, path, data, htmx, next_path = request_for(action, scene, target)
    before = snapshot(root)
    extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = client.get(path, **extra) if method == "get" else client.post(path, data, **extra)

    if outcome == "N":
        assert_not_found_and_silent(response)
    elif outcome == "L":
        assert_login_redirect(response, next_path)
    elif outcome == "F":
        # The legend (tests/matrix.py): F is a 403 with a message, for plain and htmx requests alike.
        assert_forbidden(response, htmx=htmx)
    elif outcome == "R":
        _assert_read(response, scene, action, target)
    else:
        _assert_performed(client, response, scene, root, user, action, target, before)
        return
    assert snapshot(root) == before, f"{role} {action}: a refused or read-only request changed something"


def _assert_read(response, scene, action: str, target: Resource) -> None:
    assert response.status_code == 200, response.status_code
    if action == "download":
        assert response["Content-Disposition"].startswith("attachment;")
        assert scene.by_member.file_name in response["Content-Disposition"]
        assert response["Content-Type"] == "application/pdf"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Cache-Control"].startswith("private")
        assert b"".join(response.streaming_content) == PDF
    elif action == "preview":
        assert response["Content-Type"] == "image/png"
        assert response["X-Content-Type-Options"] == "nosniff"
        image = Image.open(io.BytesIO(b"".join(response.streaming_content)))
        assert image.format == "PNG" and image.size == (40, 30)
    elif action == "view_library":
        page = text_of(response)
        assert scene.by_member.title in page and scene.by_facilitator.title in page
        assert scene.community.name in page
    else:
        page = text_of(response)
        assert f'<h1 id="resource-title">{target.title}</h1>' in page
        assert f"Download {target.file_name}" in page


def _assert_performed(client, response, scene, root: Path, user, action: str, target: Resource, before) -> None:
    after = snapshot(root)
    unchanged = set(before) - CHANGES[action]
    assert {k: after[k] for k in unchanged} == {k: before[k] for k in unchanged}, f"{action} changed more"
    if action == "add":
        new = Resource.objects.get(title=ADDED_TITLE)
        assert response.status_code == 302 and response["Location"] == new.get_absolute_url()
        assert (new.added_by, new.community_id, new.kind, new.pin_position) == (
            user,
            scene.community.pk,
            "file",
            None,
        )
        assert list(new.tags.names()) == ["matrix"]
        # A-upload: stored under a generated name, the original only names the download.
        assert new.file_name == "matrix-handout.pdf" and "matrix" not in new.file.name
        assert after["files"] == before["files"] | {new.file.name}
        assert (root / new.file.name).read_bytes() == PDF
    elif action.startswith("edit"):
        assert response.status_code == 302 and response["Location"] == target.get_absolute_url()
        fresh = Resource.objects.get(pk=target.pk)
        assert (fresh.title, fresh.description) == (EDITED_TITLE, "Edited words")
        assert fresh.file.name == target.file.name  # no upload: the file stays
        by_other = target.added_by_id != user.pk
        assert AuditEntry.objects.filter(action="resource.edit", actor=user).count() == int(by_other)
    elif action.startswith("remove"):
        assert response.status_code == 302 and response["Location"] == f"/c/{scene.slug}/library/"
        assert Resource.objects.get(pk=target.pk).removed_at is not None
        assert AuditEntry.objects.filter(action="resource.remove", actor=user).count() == 1
        assert client.get(target.get_absolute_url()).status_code == 404
    elif action == "pin":
        assert response.status_code == 302 and response["Location"] == target.get_absolute_url()
        assert Resource.objects.get(pk=target.pk).pin_position == 1
        assert AuditEntry.objects.filter(action="resource.pin", actor=user).count() == 1
    elif action in ("helpful", "helpful_htmx"):
        assert ResourceReaction.objects.filter(resource=target, user=user).count() == 1
        assert Resource.objects.get(pk=target.pk).helpful_count == 1
        if action == "helpful_htmx":
            assert response.status_code == 200
            assert 'aria-pressed="true"' in response.content.decode() and "Helpful · 1" in text_of(response)
        else:
            assert response.status_code == 302 and response["Location"] == target.get_absolute_url()
    else:
        assert action == "discuss"
        fresh = Resource.objects.select_related("thread").get(pk=target.pk)
        thread = fresh.thread
        assert thread is not None
        assert response.status_code == 302 and response["Location"] == thread.get_absolute_url()
        assert (thread.community_id, thread.author, thread.title) == (
            scene.community.pk,
            user,
            f"About: {target.title}",
        )
        assert len(after["threads"]) == len(before["threads"]) + 1


def test_matrix_covers_every_cell():
    assert len(CELLS) == len(ROLES) * len(VISIBILITIES) * len(ACTIONS) - 2 * len(OWN_ACTIONS) == 230
    outcomes = {expected(*cell) for cell in CELLS}
    assert outcomes == {"R", "P", "L", "F", "N"}
    # The "O" column: a member may edit and remove their own resource, not anyone else's.
    assert [expected("member", "open", a) for a in ("edit_own", "remove_own", "edit_other", "remove_other")] == [
        "P",
        "P",
        "F",
        "F",
    ]
    assert [expected("member", "private", a) for a in ("add", "helpful", "discuss", "pin")] == ["P", "P", "P", "F"]


# --- B-derived: the private library never shows through another page ---------------------------


@pytest.fixture
def libraries(world):
    """A private library with everything that could leak (file, image, pin, discussion, reaction)
    next to a public one."""
    lib = SimpleNamespace()
    lib.notes = add_file_resource(world.member, world.private, PRIVATE_NOTES, PDF, tags=["ocelot"])
    lib.poster = add_file_resource(world.facilitator, world.private, PRIVATE_POSTER, png_bytes())
    services.set_pin(world.facilitator, lib.notes, "pin")
    lib.thread = services.start_discussion(world.member, lib.notes)
    services.toggle_helpful(world.facilitator, lib.notes)
    lib.public = add_file_resource(world.member, world.public, PUBLIC_NOTES, PDF, tags=["nights"])
    services.set_pin(world.facilitator, lib.public, "pin")
    lib.notes.refresh_from_db()
    return lib


SEARCHES = [
    {"q": CANARY},
    {"q": CANARY, "kind": "resources"},
    {"q": CANARY, "kind": "threads"},
    {"q": "Ocelot"},
    {"q": "Ocelot", "kind": "resources"},
    {"q": "quetzal-notes.pdf", "kind": "resources"},
]
DERIVED_PAGES = [
    "/c/commons/library/",
    "/c/commons/library/?sort=helpful",
    "/c/commons/",
    "/c/commons/feeds/resources/",
    "/c/commons/feeds/threads/",
    "/u/mira/",
    "/u/fern/",
    "/",
    "/c/",
]


def _search_canaries(query: str) -> tuple[str, ...]:
    """The search page echoes the query: look for everything else of the private library."""
    return tuple(c for c in (*CANARIES_PAGE, "quetzal-", "Ocelot") if c.lower() not in query.lower())


@pytest.mark.parametrize("role", sorted(OUTSIDERS_OF_PRIVATE))
def test_private_library_never_shows_in_search_feeds_profiles_or_directory(client, world, libraries, role):
    if role != "anonymous":
        client.force_login(getattr(world, role))
    for params in SEARCHES:
        response = client.get("/search/", params)
        assert response.status_code == 200
        assert "Nothing found for" in text_of(response), params
        assert 'class="search-hit"' not in response.content.decode(), params
        assert libraries.notes.get_absolute_url() not in text_of(response)
        assert_no_canary(response, _search_canaries(params["q"]))
    for path in DERIVED_PAGES:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_no_canary(response)
    for path in ["/c/circle/feeds/resources/", "/c/circle/feeds/threads/"]:
        assert_not_found_and_silent(client.get(path))
    # Control: the public library's own resource is there, so the pages were the real ones.
    assert PUBLIC_NOTES["title"] in text_of(client.get("/c/commons/library/"))
    assert PUBLIC_NOTES["title"] in text_of(client.get("/c/commons/feeds/resources/"))


def test_member_finds_the_private_resource_but_not_in_the_public_library(client, world, libraries):
    """Positive control for the test above: the canaries are real and the member sees them."""
    client.force_login(world.member)
    for params in [{"q": CANARY}, {"q": CANARY, "kind": "resources"}, {"q": "Ocelot", "kind": "resources"}]:
        page = text_of(client.get("/search/", params))
        assert libraries.notes.get_absolute_url() in page, params
        assert "Zebra Quince Circle" in page
    profile = text_of(client.get("/u/mira/"))
    assert f"About: {PRIVATE_NOTES['title']}" in profile
    assert PRIVATE_NOTES["title"] in text_of(client.get("/c/circle/library/"))
    # Being a member of both doesn't pull the private library into the public one's pages or feeds.
    for path in ["/c/commons/library/", "/c/commons/", "/c/commons/feeds/resources/", "/c/commons/feeds/threads/"]:
        assert_no_canary(client.get(path))
    # Feeds are decided as an anonymous reader would, even for a member.
    assert_not_found_and_silent(client.get("/c/circle/feeds/resources/"))


# --- B-revocation ------------------------------------------------------------------------------


@pytest.mark.parametrize("ban", [True, False], ids=["banned", "removed"])
def test_removed_member_loses_the_private_library_on_the_next_request(client, world, libraries, ban):
    notes = libraries.notes
    urls = [
        notes.get_absolute_url(),
        f"/c/circle/library/{notes.pk}/file/",
        f"/c/circle/library/{libraries.poster.pk}/preview.png",
        "/c/circle/library/",
    ]
    client.force_login(world.member)
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
    assert notes.get_absolute_url() in text_of(client.get("/search/", {"q": CANARY}))

    membership = Membership.objects.get(user=world.member, community=world.private)
    community_services.remove_member(world.owner, world.private, membership.pk, ban=ban)

    for url in urls:
        assert_not_found_and_silent(client.get(url))
    for params in [{"q": CANARY}, {"q": CANARY, "kind": "resources"}, {"q": "Ocelot", "kind": "resources"}]:
        response = client.get("/search/", params)
        assert "Nothing found for" in text_of(response)
        assert_no_canary(response, _search_canaries(params["q"]))
    # Their own profile no longer lists the private discussion they started.
    assert_no_canary(client.get("/u/mira/"))
    before = ResourceReaction.objects.count(), Thread.objects.count(), Resource.objects.filter(removed_at=None).count()
    for suffix in ["helpful/", "discuss/", "remove/", "edit/"]:
        assert_not_found_and_silent(client.post(f"{notes.get_absolute_url()}{suffix}", {"title": "x"}))
    after = ResourceReaction.objects.count(), Thread.objects.count(), Resource.objects.filter(removed_at=None).count()
    assert after == before


# --- B-IDOR-cross --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [*sorted(OUTSIDERS_OF_PRIVATE), "member"])
def test_private_resource_under_another_communitys_url_is_404(client, world, libraries, media_root, role):
    """The id of a private resource under the public (or another private) slug: 404 without a
    redirect, even for a member of both (no canonical redirect that would confirm the id)."""
    notes, poster = libraries.notes, libraries.poster
    if role != "anonymous":
        client.force_login(getattr(world, role))
    before = snapshot(media_root)
    for method, path in [
        ("get", f"/c/commons/library/{notes.pk}/"),
        ("get", f"/c/commons/library/{notes.pk}/file/"),
        ("get", f"/c/commons/library/{poster.pk}/preview.png"),
        ("get", f"/c/commons/library/{notes.pk}/edit/"),
        ("post", f"/c/commons/library/{notes.pk}/edit/"),
        ("get", f"/c/commons/library/{notes.pk}/remove/"),
        ("post", f"/c/commons/library/{notes.pk}/remove/"),
        ("post", f"/c/commons/library/{notes.pk}/pin/"),
        ("post", f"/c/commons/library/{notes.pk}/helpful/"),
        ("post", f"/c/commons/library/{notes.pk}/discuss/"),
        ("get", f"/c/elsewhere/library/{notes.pk}/"),
        ("get", f"/c/elsewhere/library/{notes.pk}/file/"),
        ("get", f"/c/no-such-community/library/{notes.pk}/file/"),
    ]:
        data = {"kind": "tool", "title": "Sneaky", "description": "x", "action": "pin"} if method == "post" else None
        response = getattr(client, method)(path, data)
        assert "Location" not in response.headers, f"{path} redirects to {response.headers.get('Location')}"
        assert_not_found_and_silent(response)
    assert snapshot(media_root) == before


def test_private_resource_ids_are_404_for_outsiders_on_every_url(client, world, libraries, media_root):
    """B-IDOR-ids: every object URL of the private library, right slug, as a logged-in non-member."""
    client.force_login(world.outsider)
    before = snapshot(media_root)
    base = f"/c/circle/library/{libraries.notes.pk}/"
    for method, path in [
        ("get", "/c/circle/library/"),
        ("get", "/c/circle/library/?tag=ocelot"),
        ("get", "/c/circle/library/add/"),
        ("post", "/c/circle/library/add/"),
        ("get", base),
        ("get", f"{base}file/"),
        ("get", f"/c/circle/library/{libraries.poster.pk}/preview.png"),
        ("get", f"{base}edit/"),
        ("get", f"{base}remove/"),
        ("post", f"{base}pin/"),
        ("post", f"{base}helpful/"),
        ("post", f"{base}discuss/"),
        ("get", libraries.thread.get_absolute_url()),
    ]:
        data = {"kind": "tool", "title": "Sneaky", "description": "x", "action": "unpin"} if method == "post" else None
        response = getattr(client, method)(path, data)
        assert "Location" not in response.headers, path
        assert_not_found_and_silent(response)
    assert snapshot(media_root) == before


# --- Search relevance and robustness (PostgreSQL full text) ---------------------------------------


@pytest.mark.services
def test_a_title_match_outranks_a_description_match(client, world):
    # The title match is added first: with equal ranks the newer (higher pk) would come first.
    in_title = factories.resource(
        world.member, world.public, title="Zymurgy for ward teams", description="Steps for the night shift."
    )
    in_body = factories.resource(
        world.member, world.public, title="Night shift checklist", description="Borrowed from zymurgy: go slow."
    )
    ranked = list(search.search_resources(AnonymousUser(), "zymurgy"))
    assert [r.pk for r in ranked] == [in_title.pk, in_body.pk]
    assert ranked[0].rank > ranked[1].rank
    for params in [{"q": "zymurgy", "kind": "resources"}, {"q": "zymurgy"}]:
        page = client.get("/search/", params).content.decode()
        assert page.index(in_title.get_absolute_url()) < page.index(in_body.get_absolute_url()), params
        assert "<mark>" in page


ODD_QUERIES = [
    '"unbalanced',
    "a & b | !c",
    "-",
    "OR",
    "w" * 1000,
    "tapering " * 125,
    "%_\\",
    "'; DROP TABLE resources_resource; --",
    "(((",
    "zymurgy:*",
    "<->",
    "\u202ezymurgy",
]


@pytest.mark.services
def test_odd_queries_answer_200_without_errors_or_leaks(client, world, libraries, subtests, settings):
    # 64 searches in a row: above the search rate limit, which tests/test_abuse.py covers.
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "search": ("1000/60", None)}
    factories.resource(
        world.member, world.public, title="Zymurgy for ward teams", description="a & b | !c, 100% _done_"
    )
    client.force_login(world.outsider)
    for n, query in enumerate(ODD_QUERIES):
        for kind in ["", "threads", "replies", "resources"]:
            with subtests.test(msg=f"query {n} kind {kind or 'all'}"):
                response = client.get("/search/", {"q": query, "kind": kind})
                assert response.status_code == 200, (query, kind)
                assert_no_canary(response, _search_canaries(query))


@pytest.mark.services
def test_websearch_syntax_still_finds_with_an_unbalanced_quote(client, world):
    factories.resource(world.member, world.public, title="Zymurgy for ward teams", description="Steps.")
    found = client.get("/search/", {"q": '"zymurgy', "kind": "resources"}).content.decode()
    assert "Zymurgy for ward teams" in found
    excluded = client.get("/search/", {"q": "ward -zymurgy", "kind": "resources"}).content.decode()
    assert "Zymurgy for ward teams" not in excluded


# --- Query counts ---------------------------------------------------------------------------------


def test_private_library_and_detail_queries_do_not_grow(client, world, django_assert_max_num_queries):
    made: list[Resource] = []

    def fill(n: int) -> None:
        for _ in range(n):
            i = len(made)
            author = world.member if i % 2 else world.facilitator
            if i % 3 == 0:
                resource = add_file_resource(
                    author,
                    world.private,
                    {"title": f"{CANARY} file {i}", "description": "notes", "file": f"notes-{i}.pdf"},
                    PDF,
                    tags=["shared", f"t{i}"],
                )
            else:
                resource = factories.resource(
                    author,
                    world.private,
                    kind="tool",
                    title=f"{CANARY} tool {i}",
                    description="a tool",
                    tags=["shared", f"t{i}"],
                )
            made.append(resource)
            if i % 4 == 0:
                services.start_discussion(world.owner, resource)
            if i % 5 == 0:
                services.set_pin(world.facilitator, resource, "pin")
            services.toggle_helpful(world.owner, resource)

    detail_target = add_file_resource(
        world.facilitator, world.private, PRIVATE_POSTER, png_bytes(), tags=["poster", "ward", "nights"]
    )
    services.start_discussion(world.member, detail_target)
    client.force_login(world.member)
    fill(5)
    # Warm up: the first community page of the day records a visit (a write the later ones don't make).
    client.get("/c/circle/")
    client.get("/c/circle/library/")
    # Measured: 9 and 7 on SQLite (session, user, community, membership, page, tags, pinned…).
    with django_assert_max_num_queries(12) as small_library:
        assert client.get("/c/circle/library/").status_code == 200
    with django_assert_max_num_queries(10) as small_detail:
        assert client.get(detail_target.get_absolute_url()).status_code == 200

    fill(35)
    for user in (world.owner, world.admin):
        services.toggle_helpful(user, detail_target)
    assert Resource.objects.filter(community=world.private).count() == 41
    with django_assert_max_num_queries(len(small_library)):
        page = client.get("/c/circle/library/")
    assert page.status_code == 200 and "Page 1 of 2" in text_of(page)
    with django_assert_max_num_queries(len(small_library)):
        assert client.get("/c/circle/library/?page=2").status_code == 200
    with django_assert_max_num_queries(len(small_library)):
        assert client.get("/c/circle/library/?sort=helpful&tag=shared").status_code == 200
    with django_assert_max_num_queries(len(small_detail)):
        assert client.get(detail_target.get_absolute_url()).status_code == 200
