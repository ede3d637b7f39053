"""The authorization matrix (legend: tests/matrix.py), every cell through the HTTP layer.

Roles × {open, restricted, private} × actions. Each cell makes one real request with
the Django test client and asserts the status, the page, and the database:
a refused cell (N, L, F, or a join refused with a message) leaves every
membership, invitation, audit entry, queued email and community field as it
was.

Actions (the community-level ones that exist in this issue):

* ``view``     GET  /c/<slug>/
* ``join``     POST /c/<slug>/join/
* ``post``     there are no threads yet (a later issue): the cell asserts
               ``policy.can_post`` and what the community page tells the
               person (member badge, join prompt, login link). Deliberately light.
* ``moderate`` GET  /c/<slug>/facilitate/ (the facilitator dashboard)
* ``edit``     POST /c/<slug>/edit/ with valid data (moderation: the domain statement)
* ``ban``      POST /c/<slug>/members/<the plain member's membership id>/ban/  (manage members)
* ``invite``   POST /c/<slug>/facilitate/invite/                              (manage members)
* ``confirm_ban`` GET /c/<slug>/members/<the plain member's membership id>/ban/ (the confirm page; changes nothing)
* ``unban``    POST /c/<slug>/members/<the banned person's membership id>/unban/ (manage members)
* ``audit``    GET  /c/<slug>/facilitate/audit/ (the audit log)

Outcomes: R 200 and content · P performed · L redirect to login, nothing
changed · F 403 page, nothing changed · N 404, nothing changed, and the
private community's name, slug and domain nowhere in the response ·
V the restricted front page only (name, domain statement, facilitators, a way to
ask to join; not its description), nothing changed · Q a join request sent
(pending, for the facilitators to decide).

The requester (Rex, with a request for a new community waiting for the site
admins) is an outsider everywhere: asking for a community grants nothing inside
any existing one. ``test_community_request_matrix`` covers the request pages
themselves: who may ask, and that only site admins see, approve and decline.

The restricted community (conftest's ``restricted``: "Kestrel Lattice Studio",
``studio``, joined on request) has the public one's roles. Its outsiders see its
front page and ask to join; every page inside it is N for them, as in the private one.
"""

from __future__ import annotations

import html
import re

import pytest
from django.conf import settings
from django.test import Client

from communities import policy, services
from communities.models import AuditEntry, Community, CommunityRequest, Invitation, Membership
from core.models import OutboundEmail

pytestmark = pytest.mark.django_db
State = Membership.State

ROLES = [
    "anonymous",
    "outsider",
    "requester",
    "pending",
    "banned",
    "other_facilitator",
    "member",
    "facilitator",
    "owner",
    "admin",
]
VISIBILITIES = ["open", "restricted", "private"]
ACTIONS = ["view", "join", "post", "moderate", "edit", "ban", "invite", "confirm_ban", "unban", "audit"]

# People who may not see the private community at all (besides anonymous).
OUTSIDERS_OF_PRIVATE = {"anonymous", "outsider", "requester", "pending", "banned", "other_facilitator"}
FACILITATING = {"facilitator", "owner", "admin"}
MAY_POST = {"member", "facilitator", "owner", "admin"}

# What the private community must never reveal to someone who may not see it.
PRIVATE_CANARIES = ("Zebra", "Quince", "Xylophone", "circle")

INVITEE = "newcomer@example.org"
MESSAGE_RE = re.compile(r'<li class="message message-(\w+)">(.*?)</li>', re.S)


# --- Expected outcome of each cell --------------------------------------------------


def expected(role: str, visibility: str, action: str) -> str:
    """R, P, L, F, N, V, Q, or "M:<message>" (refused with that message, nothing changed)."""
    if role == "requester":
        # A request for a new community grants nothing in any existing one.
        role = "outsider"
    if visibility == "private" and role in OUTSIDERS_OF_PRIVATE:
        return "N"
    if visibility == "restricted":
        return _restricted(role, action)
    if action == "view":
        return "R"
    if action == "post":
        # Light: no posting endpoint yet; checked through the policy and the page.
        return "P" if role in MAY_POST else ("L" if role == "anonymous" else "F")
    if role == "anonymous":
        return "L"
    if action == "join":
        if role in ("outsider", "other_facilitator"):
            return "P"  # only reachable on the public (open) community here
        if role == "admin":
            return "P" if visibility == "open" else "M:This community is open by invitation only."
        return {
            "pending": "M:Your request to join is waiting for a facilitator.",
            "banned": "M:You can't join this community.",
        }.get(role, "M:You are already a member.")
    return "P" if role in FACILITATING else "F"


def _restricted(role: str, action: str) -> str:
    outsider = role in OUTSIDERS_OF_PRIVATE
    if action == "view":
        return "V" if outsider else "R"
    if action == "post":
        return "P" if role in MAY_POST else ("L" if role == "anonymous" else "F")
    if action == "join":
        if role == "anonymous":
            return "L"
        if role in ("outsider", "other_facilitator", "admin"):
            return "Q"
        return {
            "pending": "M:Your request to join is waiting for a facilitator.",
            "banned": "M:You can't join this community.",
        }.get(role, "M:You are already a member.")
    if outsider:
        return "N"  # the dashboard, the settings and the members are inside it
    return "P" if role in FACILITATING else "F"


CELLS = [
    pytest.param(role, visibility, action, id=f"{role}-{visibility}-{action}")
    for role in ROLES
    for visibility in VISIBILITIES
    for action in ACTIONS
]


# --- Helpers ------------------------------------------------------------------------


def person(world, role: str):
    return None if role == "anonymous" else getattr(world, role)


def community_of(world, visibility: str) -> Community:
    return {"open": world.public, "restricted": world.restricted, "private": world.private}[visibility]


def snapshot() -> dict:
    """Everything a refused request must leave alone (visits are not in it: viewing records one)."""
    return {
        "memberships": sorted(Membership.objects.values_list("id", "user_id", "community_id", "role", "state")),
        "invitations": sorted(Invitation.objects.values_list("id", "community_id", "email")),
        "audit": AuditEntry.objects.count(),
        "emails": OutboundEmail.objects.count(),
        "communities": sorted(
            Community.objects.values_list(
                "id", "name", "slug", "domain", "description", "visibility", "join_policy", "member_count"
            )
        ),
    }


def edit_data(community: Community, domain: str) -> dict:
    return {
        "name": community.name,
        "slug": community.slug,
        "domain": domain,
        "description": community.description,
        "visibility": community.visibility,
        "join_policy": community.join_policy,
        "default_cadence": community.default_cadence,
    }


def messages_in(response) -> list[str]:
    return [html.unescape(text.strip()) for _, text in MESSAGE_RE.findall(response.content.decode())]


def text_of(response) -> str:
    return html.unescape(response.content.decode())


def assert_not_found_and_silent(response, community: Community) -> None:
    assert response.status_code == 404, response.status_code
    body = response.content.decode()
    assert "<title>Page not found" in body
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    for canary in (*PRIVATE_CANARIES, community.name, community.domain):
        assert canary.lower() not in body.lower(), f"{canary!r} in the 404 body"
        assert canary.lower() not in headers.lower(), f"{canary!r} in the 404 headers"


def assert_login_redirect(response, path: str) -> None:
    assert response.status_code == 302, response.status_code
    assert response["Location"] == f"/accounts/login/?next={path}"


def assert_forbidden_page(response) -> None:
    assert response.status_code == 403, response.status_code
    body = text_of(response)
    assert "<title>Not allowed" in body
    assert "You don't have permission to do that." in body


# --- The matrix -----------------------------------------------------------------------


@pytest.fixture
def requesting(restricted):
    """``restricted`` with Rex, whose request for a new community waits for the site admins."""
    w = restricted
    w.requester = w.outsider.__class__.objects.create_user(
        username="rex", email="rex@example.org", password="correct horse battery", display_name="Rex Requester"
    )
    from allauth.account.models import EmailAddress

    EmailAddress.objects.create(user=w.requester, email=w.requester.email, verified=True, primary=True)
    w.community_request = services.request_community(
        w.requester,
        name="Dusk Harbour Guild",
        domain="Discharge planning at dusk.",
        why="We need it.",
        visibility="open",
        join_policy="open",
    )
    return w


@pytest.mark.parametrize(("role", "visibility", "action"), CELLS)
def test_matrix(client, requesting, role, visibility, action):
    world = requesting
    user = person(world, role)
    if user is not None:
        client.force_login(user)
    community = community_of(world, visibility)
    slug = community.slug
    target = Membership.objects.get(user=world.member, community=community)  # the plain member
    outcome = expected(role, visibility, action)
    before = snapshot()

    if action in ("view", "post"):
        response = client.get(f"/c/{slug}/")
    elif action == "join":
        response = client.post(f"/c/{slug}/join/", follow=outcome.startswith("M:") or outcome in ("P", "Q"))
    elif action == "moderate":
        response = client.get(f"/c/{slug}/facilitate/")
    elif action == "edit":
        response = client.post(f"/c/{slug}/edit/", edit_data(community, f"Edited by {role}: still about practice."))
    elif action == "ban":
        response = client.post(f"/c/{slug}/members/{target.pk}/ban/", {"reason": "Spam after warnings"})
    elif action == "confirm_ban":
        response = client.get(f"/c/{slug}/members/{target.pk}/ban/")
    elif action == "unban":
        banned = Membership.objects.get(user=world.banned, community=community)
        response = client.post(f"/c/{slug}/members/{banned.pk}/unban/")
    elif action == "audit":
        response = client.get(f"/c/{slug}/facilitate/audit/")
    else:
        response = client.post(f"/c/{slug}/facilitate/invite/", {"email": INVITEE, "message": "Come along."})

    if outcome == "N":
        assert_not_found_and_silent(response, community)
        if action == "post":
            assert not policy.can_post(user or _anonymous(), community)
    elif outcome == "L":
        path = {
            "join": f"/c/{slug}/",
            "moderate": f"/c/{slug}/facilitate/",
            "edit": f"/c/{slug}/edit/",
            "ban": f"/c/{slug}/members/{target.pk}/ban/",
            "invite": f"/c/{slug}/facilitate/invite/",
            "confirm_ban": f"/c/{slug}/members/{target.pk}/ban/",
            "unban": f"/c/{slug}/members/{Membership.objects.get(user=world.banned, community=community).pk}/unban/",
            "audit": f"/c/{slug}/facilitate/audit/",
        }.get(action)
        if action == "post":
            assert response.status_code == 200
            assert not policy.can_post(_anonymous(), community)
            assert f'href="/accounts/login/?next=/c/{slug}/"' in response.content.decode()
            assert ("Log in to ask to join" if visibility == "restricted" else "Log in to join") in text_of(response)
        else:
            assert_login_redirect(response, path)
    elif outcome == "F":
        if action == "post":
            assert response.status_code == 200
            assert not policy.can_post(user, community)
            page = text_of(response)
            assert "You're a " not in page
            ask = "Ask to join" if visibility == "restricted" else "Join this community"
            prompt = {
                "outsider": ask,
                "requester": ask,
                "other_facilitator": ask,
                "pending": "Your request to join is waiting for a facilitator.",
                "banned": "You can't join this community.",
            }[role]
            assert prompt in page
        else:
            assert_forbidden_page(response)
    elif outcome.startswith("M:"):
        assert response.redirect_chain == [(f"/c/{slug}/", 302)]
        assert response.status_code == 200
        assert outcome[2:] in messages_in(response)
    elif outcome == "R":
        assert response.status_code == 200
        body = text_of(response)
        assert f"<title>{community.name} · {settings.COPSITE_NAME}</title>" in body
        assert community.domain in body
        assert "Vellichor" in body or visibility != "restricted"  # its description, for members
    elif outcome == "V":
        assert response.status_code == 200
        body = text_of(response)
        assert f"<title>{community.name} · {settings.COPSITE_NAME}</title>" in body
        assert community.domain in body and "Olive Owner" in body and "Fern Facilitator" in body
        assert "Vellichor" not in body and "Mira Member" not in body  # the description, a member
    elif outcome == "Q":
        assert response.redirect_chain == [(f"/c/{slug}/", 302)]
        assert "Your request to join has been sent. A facilitator will review it; we'll email you." in messages_in(
            response
        )
        membership = Membership.objects.get(user=person(world, role), community=community)
        assert membership.state == State.PENDING
        return
    else:
        assert outcome == "P"
        _assert_performed(response, world, community, role, action, target, before)
        return

    assert snapshot() == before, "a refused or read-only request changed the database"


def _anonymous():
    from django.contrib.auth.models import AnonymousUser

    return AnonymousUser()


def _assert_performed(response, world, community, role, action, target, before) -> None:
    slug = community.slug
    user = getattr(world, role)
    if action == "post":
        assert response.status_code == 200
        assert policy.can_post(user, community)
        page = text_of(response)
        if role == "admin":
            # A site admin has no membership: no badge, but the dashboard link.
            assert "Facilitator dashboard" in page
        else:
            # The badge reads "You're a <role>" (owners: tolerate a fix to "an owner").
            badge = {"member": "You're a member", "facilitator": "You're a facilitator", "owner": "You're an? owner"}
            assert re.search(badge[role], page)
        assert snapshot()["memberships"] == before["memberships"]
    elif action == "join":
        assert response.redirect_chain == [(f"/c/{slug}/", 302)]
        assert f"Welcome to {community.name}! You are now a member." in messages_in(response)
        membership = Membership.objects.get(user=user, community=community)
        assert (membership.state, membership.role) == (State.ACTIVE, Membership.Role.MEMBER)
        community.refresh_from_db()
        assert community.member_count == 4
        assert AuditEntry.objects.filter(community=community, action="member.join", actor=user).count() == 1
    elif action == "moderate":
        assert response.status_code == 200
        page = text_of(response)
        assert f"<title>Facilitate {community.name} · {settings.COPSITE_NAME}</title>" in page
        assert "Join requests (1)" in page and "Pat Pending" in page
        assert "Invite someone" in page
        assert snapshot() == before
    elif action == "edit":
        assert response.status_code == 302
        assert response["Location"] == f"/c/{slug}/"
        community.refresh_from_db()
        assert community.domain == f"Edited by {role}: still about practice."
        assert AuditEntry.objects.filter(community=community, action="community.edit", actor=user).count() == 1
    elif action == "ban":
        assert response.status_code == 302
        assert response["Location"] == f"/c/{slug}/facilitate/"
        target.refresh_from_db()
        assert target.state == State.BANNED
        assert AuditEntry.objects.filter(community=community, action="member.ban", target_user=world.member).exists()
        community.refresh_from_db()
        assert community.member_count == 2
    elif action == "confirm_ban":
        assert response.status_code == 200
        page = text_of(response)
        assert f"Ban Mira Member from {community.name}?" in page
        assert 'name="reason"' in page and 'name="until"' in page
        assert snapshot() == before
    elif action == "unban":
        assert response.status_code == 302
        assert response["Location"] == f"/c/{slug}/facilitate/"
        bo = Membership.objects.get(user=world.banned, community=community)
        assert bo.state == State.LEFT
        assert AuditEntry.objects.filter(community=community, action="member.unban", target_user=world.banned).exists()
    elif action == "audit":
        assert response.status_code == 200
        page = text_of(response)
        assert f"<title>Audit log of {community.name} · {settings.COPSITE_NAME}</title>" in page
        assert "Olive Owner created the community" in page
        assert snapshot() == before
    else:
        assert action == "invite"
        assert response.status_code == 302
        assert response["Location"] == f"/c/{slug}/facilitate/"
        invitation = Invitation.objects.get(community=community, email=INVITEE)
        assert invitation.invited_by == user and invitation.is_open
        assert OutboundEmail.objects.filter(to=INVITEE, kind="membership.invitation").count() == 1
        assert Invitation.objects.count() == len(before["invitations"]) + 1


def test_matrix_covers_every_cell():
    assert len(CELLS) == len(ROLES) * len(VISIBILITIES) * len(ACTIONS) == 300
    outcomes = {expected(*cell.values) for cell in CELLS}
    assert {"R", "P", "L", "F", "N", "V", "Q"} <= outcomes


# --- CSRF -----------------------------------------------------------------------------


@pytest.fixture
def csrf_client():
    return Client(enforce_csrf_checks=True)


def _token_from(page) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert match, "no CSRF token on the page"
    return match.group(1)


def test_join_without_csrf_token_is_refused_and_changes_nothing(csrf_client, world):
    csrf_client.force_login(world.outsider)
    before = snapshot()
    response = csrf_client.post("/c/commons/join/")
    assert response.status_code == 403
    assert snapshot() == before
    # Control: with the page's token the same request works, so the 403 was the token.
    token = _token_from(csrf_client.get("/c/commons/"))
    response = csrf_client.post("/c/commons/join/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert Membership.objects.get(user=world.outsider, community=world.public).state == State.ACTIVE


@pytest.mark.parametrize("visibility", VISIBILITIES)
def test_ban_without_csrf_token_is_refused_and_changes_nothing(csrf_client, restricted, visibility):
    world = restricted
    community = community_of(world, visibility)
    target = Membership.objects.get(user=world.member, community=community)
    csrf_client.force_login(world.facilitator)
    before = snapshot()
    response = csrf_client.post(f"/c/{community.slug}/members/{target.pk}/ban/")
    assert response.status_code == 403
    assert snapshot() == before
    target.refresh_from_db()
    assert target.state == State.ACTIVE
    token = _token_from(csrf_client.get(f"/c/{community.slug}/facilitate/"))
    response = csrf_client.post(
        f"/c/{community.slug}/members/{target.pk}/ban/", {"csrfmiddlewaretoken": token, "reason": "Spam"}
    )
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.state == State.BANNED


@pytest.mark.parametrize("visibility", VISIBILITIES)
def test_invite_without_csrf_token_is_refused_and_changes_nothing(csrf_client, restricted, visibility):
    world = restricted
    community = community_of(world, visibility)
    csrf_client.force_login(world.owner)
    before = snapshot()
    response = csrf_client.post(f"/c/{community.slug}/facilitate/invite/", {"email": INVITEE})
    assert response.status_code == 403
    assert snapshot() == before
    assert not Invitation.objects.filter(email=INVITEE).exists()
    token = _token_from(csrf_client.get(f"/c/{community.slug}/facilitate/"))
    response = csrf_client.post(
        f"/c/{community.slug}/facilitate/invite/", {"email": INVITEE, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    assert Invitation.objects.filter(community=community, email=INVITEE).count() == 1


# --- Requests for new communities ----------------------------------------------------------

REQUEST_ROLES = ["anonymous", "unverified", "outsider", "requester", "member", "facilitator", "owner", "admin"]
REQUEST_ACTIONS = ["request", "queue", "approve", "decline"]


def request_expected(role: str, action: str) -> str:
    """P performed · R the queue shown · L login · F 403, nothing stored · M refused with a message ·
    N 404 (the queue and its decisions are not announced to anyone but site admins)."""
    if action == "request":
        return {"anonymous": "L", "unverified": "F", "requester": "M"}.get(role, "P")
    if role != "admin":
        return "N"
    return "R" if action == "queue" else "P"


REQUEST_CELLS = [
    pytest.param(role, action, id=f"{role}-{action}") for role in REQUEST_ROLES for action in REQUEST_ACTIONS
]


def request_snapshot() -> dict:
    return {
        "requests": sorted(CommunityRequest.objects.values_list("id", "requester_id", "name", "state")),
        "communities": Community.objects.count(),
        "memberships": Membership.objects.count(),
        "emails": OutboundEmail.objects.count(),
    }


@pytest.mark.parametrize(("role", "action"), REQUEST_CELLS)
def test_community_request_matrix(client, requesting, make_user, role, action):
    world = requesting
    user = make_user("uma", verified=False) if role == "unverified" else person(world, role)
    if user is not None:
        client.force_login(user)
    pk = world.community_request.pk
    outcome = request_expected(role, action)
    before = request_snapshot()
    if action == "request":
        data = {
            "name": "Morning Ward Circle",
            "domain": "Morning handovers.",
            "why": "Because.",
            "visibility": "restricted",
            "join_policy": "approval",
        }
        response = client.post("/c/request/", data)
    elif action == "queue":
        response = client.get("/c/requests/")
    elif action == "approve":
        response = client.post(f"/c/requests/{pk}/approve/")
    else:
        response = client.post(f"/c/requests/{pk}/decline/", {"reason": "Covered by Ward Commons."})

    if outcome == "N":
        assert response.status_code == 404
        assert "Dusk Harbour" not in response.content.decode()
    elif outcome == "L":
        assert_login_redirect(response, "/c/request/")
    elif outcome == "F":
        assert response.status_code == 403
        assert "Confirm your email address first" in text_of(response)
    elif outcome == "M":
        assert response.status_code == 400
        assert "You already have a request waiting for a site admin" in text_of(response)
    elif outcome == "R":
        assert response.status_code == 200
        assert "Dusk Harbour Guild" in text_of(response) and "Rex Requester" in text_of(response)
        assert request_snapshot() == before
        return
    else:
        assert outcome == "P"
        if action == "request":
            assert response.status_code == 302
            made = CommunityRequest.objects.get(requester=user, state="pending")
            assert (made.name, made.visibility, made.join_policy) == ("Morning Ward Circle", "restricted", "approval")
            assert Community.objects.count() == before["communities"]  # nothing created until approved
        elif action == "approve":
            assert response.status_code == 302
            community = Community.objects.get(name="Dusk Harbour Guild")
            owner = Membership.objects.get(community=community)
            assert (owner.user, owner.role) == (world.requester, Membership.Role.OWNER)
        else:
            assert response.status_code == 302
            assert CommunityRequest.objects.get(pk=pk).state == "declined"
            assert not Community.objects.filter(name="Dusk Harbour Guild").exists()
        return
    assert request_snapshot() == before, "a refused request changed the database"


@pytest.mark.parametrize("visibility", VISIBILITIES)
def test_a_requester_gains_nothing_in_existing_communities(requesting, visibility):
    world = requesting
    community = community_of(world, visibility)
    for may in (policy.can_view_community, policy.can_post, policy.can_moderate, policy.can_edit_community):
        assert may(world.requester, community) == (may is policy.can_view_community and visibility == "open")
    assert not policy.can_decide_community_requests(world.requester)
