"""A private community is invisible to anyone who may not see it; pages cost a fixed number of queries.

The private community of the ``world`` fixture is "Zebra Quince Circle" (slug
``circle``, domain "Xylophone tapering cases in confidence."). Its canaries
must never appear in a body or a header served to anonymous visitors,
outsiders, its banned ex-member, its pending requester, or the facilitator of
another private community: not in the directory, its search, profiles, 404
pages nor ``<title>``. The whole-site crawl for its content lives in
``test_canary_crawl.py``.
"""

from __future__ import annotations

import html
import re

import pytest

from accounts.models import User
from communities import services
from communities.models import Community, Membership
from tests import factories

pytestmark = pytest.mark.django_db

CANARIES = ("Zebra", "Quince", "Xylophone", "/c/circle")
VIEWERS = ["anonymous", "outsider", "banned", "pending", "other_facilitator"]
SEARCHES = ["Zebra", "Xylophone", "circle"]
NO_MATCH = "Nothingmatcheswhatsoever"
CSRF_RE = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]+(")')
CSP_NONCE_RE = re.compile(r"nonce-[A-Za-z0-9+/=_-]+")


def login_as(client, world, viewer: str):
    if viewer != "anonymous":
        client.force_login(getattr(world, viewer))


def leaks_in(response, *, ignore: tuple[str, ...] = ()) -> list[str]:
    """Canaries found in the response's body or headers (``ignore``: exact echoes of the request to drop first)."""
    body = response.content.decode(errors="replace")
    for echo in ignore:
        body = body.replace(echo, "")
    found = []
    for canary in CANARIES:
        if canary.lower() in html.unescape(body).lower():
            found.append(f"{canary!r} in body")
        found += [f"{name}: {value}" for name, value in response.headers.items() if canary.lower() in value.lower()]
    return found


def normalized(response) -> str:
    """The body with per-render tokens (CSRF, CSP nonce) blanked."""
    body = response.content.decode()
    return CSP_NONCE_RE.sub("nonce-X", CSRF_RE.sub(r"\1X\2", body))


def search_echoes(query: str) -> tuple[str, ...]:
    # The directory repeats what the person typed: in the search box and in "No community matches".
    return (f'value="{query}"', f"No community matches “{query}”")


# --- Canaries ---------------------------------------------------------------------------


@pytest.mark.parametrize("viewer", VIEWERS)
def test_private_community_never_shows_to_someone_who_may_not_see_it(client, world, viewer):
    login_as(client, world, viewer)
    urls = [
        "/",
        "/c/",
        "/c/circle/",
        "/c/circle/facilitate/",
        "/c/circle/edit/",
        "/c/circle/join/",  # GET: method not allowed, same as anywhere else
        f"/u/{world.owner.username}/",
        f"/u/{world.member.username}/",
        "/c/nope/",
    ]
    leaks = {}
    for url in urls:
        response = client.get(url)
        if found := leaks_in(response):
            leaks[url] = (response.status_code, found)
    for query in SEARCHES:
        response = client.get("/c/", {"q": query})
        assert response.status_code == 200
        assert f"No community matches “{query}”" in response.content.decode()
        if found := leaks_in(response, ignore=search_echoes(query)):
            leaks[f"/c/?q={query}"] = (response.status_code, found)
    # Anonymous join of a private community; (logged-in people get the 404 checked above).
    response = client.post("/c/circle/join/")
    if found := leaks_in(response):
        leaks["POST /c/circle/join/"] = (response.status_code, found)
    assert not leaks, f"the private community shows through to {viewer}: {leaks}"


@pytest.mark.parametrize("viewer", VIEWERS)
def test_searching_for_a_private_community_looks_like_searching_for_nothing(client, world, viewer):
    login_as(client, world, viewer)
    control = normalized(client.get("/c/", {"q": NO_MATCH})).replace(NO_MATCH, "QUERY")
    for query in SEARCHES:
        page = normalized(client.get("/c/", {"q": query})).replace(query, "QUERY")
        assert page == control, f"searching {query!r} differs from searching for nothing"


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/"), ("get", "facilitate/"), ("get", "edit/"), ("post", "join/"), ("post", "facilitate/invite/")],
    ids=["page", "facilitate", "edit", "join", "invite"],
)
def test_missing_and_forbidden_look_the_same(client, world, viewer, method, path):
    login_as(client, world, viewer)
    private = getattr(client, method)(f"/c/circle/{path.lstrip('/')}")
    missing = getattr(client, method)(f"/c/nope/{path.lstrip('/')}")
    assert private.status_code == missing.status_code
    if viewer != "anonymous" or path == "/":
        assert private.status_code == 404
    # (Anonymous login-only URLs: both redirect to the login page today; that they
    # should be 404s, with no slug in Location, is asserted by the canary test and the matrix.)
    assert normalized(private) == normalized(missing)
    volatile = {"Set-Cookie", "Date"}

    def headers(response, slug):
        return {
            k: CSP_NONCE_RE.sub("nonce-X", v).replace(f"/c/{slug}/", "/c/SLUG/")
            for k, v in response.headers.items()
            if k not in volatile
        }

    assert headers(private, "circle") == headers(missing, "nope")


def test_member_does_see_the_private_community(client, world):
    """Positive control: the checks above can fail."""
    client.force_login(world.member)
    html_ = client.get("/c/").content.decode()
    assert "Zebra Quince Circle" in html_ and 'href="/c/circle/"' in html_
    assert "Zebra Quince Circle" in client.get("/c/", {"q": "Xylophone"}).content.decode()
    assert client.get("/c/circle/").status_code == 200


# --- Query bounds -------------------------------------------------------------------------
#
# Measured, not padded: one more query per row (a community, a member) breaks them.

DIRECTORY_QUERIES = {"anonymous": 2, "member": 6}  # member: + the notification bell
COMMUNITY_PAGE_QUERIES = {"anonymous": 7, "member": 16}  # + events and pinned-resources panels, bell


@pytest.fixture
def reader(make_user):
    return make_user("rhea", display_name="Rhea Reader")


def _communities(admin, n: int, reader) -> list[Community]:
    made = [
        services.create_community(
            admin,
            name=f"Practice {i:02d}",
            slug=f"practice-{i:02d}",
            domain=f"Practice number {i}.",
            visibility=Community.Visibility.OPEN,
            join_policy=Community.JoinPolicy.OPEN,
        )
        for i in range(n)
    ]
    # The reader belongs to every other one (active or pending), so the page shows both badges.
    Membership.objects.bulk_create(
        Membership(user=reader, community=c, state=Membership.State.ACTIVE if i % 4 else Membership.State.PENDING)
        for i, c in enumerate(made)
        if i % 2 == 0
    )
    return made


@pytest.mark.parametrize("viewer", ["anonymous", "member"])
@pytest.mark.parametrize("n", [5, 50])
def test_directory_queries_do_not_grow_with_communities(
    client, site_admin, reader, viewer, n, django_assert_max_num_queries
):
    _communities(site_admin, n, reader)
    if viewer == "member":
        client.force_login(reader)
    with django_assert_max_num_queries(DIRECTORY_QUERIES[viewer]):
        response = client.get("/c/")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.count('class="card community-card"') == min(n, 20)
    if viewer == "member":
        assert "You're a member" in html.unescape(body) and "Request pending" in body


@pytest.mark.parametrize("viewer", ["anonymous", "member"])
@pytest.mark.parametrize("n", [5, 50])
def test_community_page_queries_do_not_grow_with_members(
    client, site_admin, reader, viewer, n, django_assert_max_num_queries
):
    community = services.create_community(
        site_admin, name="Big Practice", slug="big", domain="Many people.", visibility=Community.Visibility.OPEN
    )
    people = User.objects.bulk_create(
        User(username=f"p{i:03d}", email=f"p{i:03d}@example.org", display_name=f"Person {i:03d}") for i in range(n)
    )
    Membership.objects.bulk_create(
        Membership(
            user=p,
            community=community,
            role=Membership.Role.FACILITATOR if i % 5 == 0 else Membership.Role.MEMBER,
        )
        for i, p in enumerate(people)
    )
    factories.membership(reader, community)
    Community.objects.filter(pk=community.pk).update(member_count=n + 2)
    # The front page lists conversations too: as many threads as members, tagged.
    from discussions.services import start_thread

    for i in range(n):
        start_thread(people[i], community, title=f"Thread {i}", body="text", tags=[f"t{i % 3}", "common"])
    if viewer == "member":
        client.force_login(reader)
    with django_assert_max_num_queries(COMMUNITY_PAGE_QUERIES[viewer]):
        response = client.get("/c/big/")
    assert response.status_code == 200
    body = response.content.decode()
    assert f"{n + 2} members" in body
    # Owner plus every fifth person, at most 12 shown.
    assert body.count('<span class="muted">facilitator</span>') == min((n + 4) // 5, 11)
