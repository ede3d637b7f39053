"""Asking for a new community: members with a verified address ask, site admins approve or decline."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.test import Client

from communities.models import AuditEntry, Community, CommunityRequest, Membership
from core.models import OutboundEmail

pytestmark = pytest.mark.django_db
REQUEST = "/c/request/"
QUEUE = "/c/requests/"


def text(response) -> str:
    return unescape(response.content.decode())


def ask(**changes) -> dict:
    data = {
        "name": "Night Nurses Circle",
        "domain": "Getting better at night shifts together.",
        "why": "Twelve of us meet monthly already; we want a place between meetings.",
        "visibility": "open",
        "join_policy": "open",
    }
    return {**data, **changes}


@pytest.fixture
def asked(client, world):
    client.force_login(world.outsider)
    response = client.post(REQUEST, ask())
    assert response.status_code == 302
    client.logout()
    return CommunityRequest.objects.get(requester=world.outsider)


def test_member_asks_for_a_community_and_sees_it_waiting(client, world):
    client.force_login(world.outsider)
    page = client.get(REQUEST)
    assert page.status_code == 200 and "Send request" in text(page)
    response = client.post(REQUEST, ask(), follow=True)
    assert response.redirect_chain == [(REQUEST, 302)]
    page = text(response)
    assert "Your request is sent. A site admin will decide; we'll email you." in page
    assert "Night Nurses Circle" in page and "Waiting for a site admin" in page
    assert "Send request" not in page  # one request at a time
    req = CommunityRequest.objects.get(requester=world.outsider)
    assert (req.state, req.visibility, req.join_policy) == ("pending", "open", "open")
    assert not Community.objects.filter(name="Night Nurses Circle").exists()


def test_each_site_admin_is_emailed_the_request_once_with_a_link_to_decide(client, world, asked):
    [mail] = OutboundEmail.objects.filter(kind="community.request_new")
    assert mail.to == world.admin.email  # the one site admin; nobody else
    assert mail.subject == "Otto Outsider asks for a new community: Night Nurses Circle"
    assert "Twelve of us meet monthly already" in mail.body_text and "/c/requests/" in mail.body_text
    # A refused second request tells no one again.
    client.force_login(world.outsider)
    client.post(REQUEST, ask(name="Another One"))
    assert OutboundEmail.objects.filter(kind="community.request_new").count() == 1


def test_one_pending_request_per_person(client, world, asked):
    client.force_login(world.outsider)
    response = client.post(REQUEST, ask(name="Another One"))
    assert response.status_code == 400
    assert "You already have a request waiting for a site admin" in text(response)
    assert CommunityRequest.objects.filter(requester=world.outsider).count() == 1


def test_unverified_account_cannot_ask(client, make_user):
    user = make_user("uma", verified=False)
    client.force_login(user)
    page = client.get(REQUEST)
    assert "Confirm your email address first" in text(page) and "Send request" not in text(page)
    response = client.post(REQUEST, ask())
    assert response.status_code == 403
    assert not CommunityRequest.objects.exists()


def test_anonymous_is_sent_to_log_in(client, db):
    response = client.post(REQUEST, ask())
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert not CommunityRequest.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field", "error"),
    [
        ({"name": "N" * 81}, "name", "at most 80 characters"),
        ({"name": ""}, "name", "This field is required."),
        ({"domain": "d" * 301}, "domain", "at most 300 characters"),
        ({"why": "w" * 2001}, "why", "at most 2000 characters"),
        ({"why": "   "}, "why", "This field is required."),
        ({"name": "Bad\u202eName"}, "name", "control or invisible formatting characters"),
        ({"visibility": "restricted", "join_policy": "open"}, "join_policy", "A restricted community can't"),
        ({"visibility": "private", "join_policy": "approval"}, "join_policy", "A private community can't"),
        ({"visibility": "secret"}, "visibility", "Select a valid choice"),
        ({"name": "ward commons"}, "name", "A community with that name exists already"),
    ],
)
def test_invalid_request_is_refused_and_keeps_what_was_typed(client, world, changes, field, error):
    client.force_login(world.outsider)
    data = ask(**changes)
    response = client.post(REQUEST, data)
    assert response.status_code == 400
    page = text(response)
    assert error in page
    assert re.search(rf'id="id_{field}_error"', page)
    assert data["why"].strip() in page or not data["why"].strip()
    if field != "name":
        assert data["name"] in page
    assert not CommunityRequest.objects.exists()


def test_a_private_communitys_name_is_not_confirmed_to_an_outsider(client, world):
    client.force_login(world.outsider)
    response = client.post(REQUEST, ask(name="Zebra Quince Circle"))
    assert response.status_code == 302  # the site admins decide; the outsider learns nothing
    assert CommunityRequest.objects.filter(name="Zebra Quince Circle").exists()


def test_hostile_text_is_shown_as_text(client, world, site_admin):
    client.force_login(world.outsider)
    hostile = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'
    client.post(REQUEST, ask(name="Safe <b>name</b>", why=hostile, domain="{{ x }} {% now %}"))
    for who, url in ((world.outsider, REQUEST), (site_admin, QUEUE)):
        client.force_login(who)
        body = client.get(url).content.decode()
        assert "<script>alert(1)" not in body and "<img src=x" not in body and "<b>name</b>" not in body
        assert "Safe &lt;b&gt;name&lt;/b&gt;" in body
    assert "{{ x }} {% now %}" in text(client.get(QUEUE))


def test_request_without_csrf_token_is_refused(world):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(world.outsider)
    assert csrf_client.post(REQUEST, ask()).status_code == 403
    assert not CommunityRequest.objects.exists()


def test_requests_are_rate_limited_and_keep_what_was_typed(client, world, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "community_request": ("1/3600", None)}
    client.force_login(world.outsider)
    assert client.post(REQUEST, ask()).status_code == 302
    CommunityRequest.objects.update(state="declined", decline_reason="Too broad")
    response = client.post(REQUEST, ask(name="Second Try Circle"))
    assert response.status_code == 429
    assert "faster than this site allows" in text(response) and "Second Try Circle" in text(response)
    assert CommunityRequest.objects.count() == 1


@pytest.mark.parametrize("role", ["anonymous", "outsider", "member", "owner", "facilitator"])
def test_only_site_admins_see_and_decide_requests(client, world, asked, role):
    if role != "anonymous":
        client.force_login(getattr(world, role))
    assert client.get(QUEUE).status_code == 404
    assert client.post(f"{QUEUE}{asked.pk}/approve/").status_code == 404
    assert client.post(f"{QUEUE}{asked.pk}/decline/", {"reason": "No"}).status_code == 404
    asked.refresh_from_db()
    assert asked.state == "pending"
    assert not Community.objects.filter(name="Night Nurses Circle").exists()


def test_site_admin_approves_and_the_requester_owns_the_new_community(client, world, asked, site_admin):
    client.force_login(site_admin)
    queue = text(client.get(QUEUE))
    assert "Night Nurses Circle" in queue and "Otto Outsider" in queue and "Twelve of us" in queue
    response = client.post(f"{QUEUE}{asked.pk}/approve/", follow=True)
    assert "Night Nurses Circle is created; Otto Outsider owns it and is told." in text(response)
    community = Community.objects.get(name="Night Nurses Circle")
    assert community.slug == "night-nurses-circle"
    assert (community.visibility, community.join_policy, community.member_count) == ("open", "open", 1)
    owner = Membership.objects.get(community=community)
    assert (owner.user, owner.role, owner.state) == (world.outsider, "owner", "active")
    assert AuditEntry.objects.filter(
        community=community, action="community.request_approve", actor=site_admin, target_user=world.outsider
    ).exists()
    [mail] = OutboundEmail.objects.filter(kind="community_request.approved")
    assert mail.to == world.outsider.email and "/c/night-nurses-circle/" in mail.body_text
    asked.refresh_from_db()
    assert (asked.state, asked.community, asked.decided_by) == ("approved", community, site_admin)

    client.force_login(world.outsider)
    page = text(client.get(REQUEST))
    assert "Approved" in page and 'href="/c/night-nurses-circle/"' in page
    assert "Send request" in page  # may ask for another
    assert "You're an owner" in text(client.get("/c/night-nurses-circle/"))


def test_approving_twice_creates_one_community(client, world, asked, site_admin):
    client.force_login(site_admin)
    client.post(f"{QUEUE}{asked.pk}/approve/")
    response = client.post(f"{QUEUE}{asked.pk}/approve/", follow=True)
    assert "has already been decided" in text(response)
    assert Community.objects.filter(name="Night Nurses Circle").count() == 1
    assert OutboundEmail.objects.filter(kind="community_request.approved").count() == 1


def test_approval_takes_a_free_address_and_refuses_a_taken_name(client, world, site_admin):
    from communities import services

    services.create_community(site_admin, name="Other", slug="night-nurses-circle", domain="Taken address.")
    first = services.request_community(world.outsider, **ask())
    services.approve_community_request(site_admin, first.pk)
    assert Community.objects.get(name="Night Nurses Circle").slug == "night-nurses-circle-2"
    second = services.request_community(world.member, **ask(name="night nurses  circle"))
    client.force_login(site_admin)
    response = client.post(f"{QUEUE}{second.pk}/approve/", follow=True)
    assert "exists already: decline the request, saying so." in text(response)
    second.refresh_from_db()
    assert second.state == "pending"


def test_decline_needs_a_reason_and_keeps_what_was_typed(client, world, asked, site_admin):
    client.force_login(site_admin)
    response = client.post(f"{QUEUE}{asked.pk}/decline/", {"reason": "   "})
    assert response.status_code == 400 and "This field is required." in text(response)
    response = client.post(f"{QUEUE}{asked.pk}/decline/", {"reason": "R" * 501})
    assert response.status_code == 400 and "at most 500 characters" in text(response)
    assert "R" * 501 in text(response)
    asked.refresh_from_db()
    assert asked.state == "pending"
    assert not OutboundEmail.objects.filter(kind="community_request.declined").exists()


def test_declined_request_tells_the_requester_why(client, world, asked, site_admin):
    client.force_login(site_admin)
    reason = "Ward Commons covers night shifts <already>."
    response = client.post(f"{QUEUE}{asked.pk}/decline/", {"reason": reason}, follow=True)
    assert "is declined; Otto Outsider is told." in text(response)
    [mail] = OutboundEmail.objects.filter(kind="community_request.declined")
    assert mail.to == world.outsider.email and reason in mail.body_text
    assert not Community.objects.filter(name="Night Nurses Circle").exists()
    client.force_login(world.outsider)
    page = client.get(REQUEST).content.decode()
    assert "Declined" in page and "Ward Commons covers night shifts &lt;already&gt;." in page
    assert "Send request" in page


def test_decide_without_csrf_token_is_refused(world, asked, site_admin):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(site_admin)
    assert csrf_client.post(f"{QUEUE}{asked.pk}/approve/").status_code == 403
    asked.refresh_from_db()
    assert asked.state == "pending"


def test_the_directory_offers_asking_and_creating_to_whom_it_may(client, world, site_admin):
    client.force_login(world.outsider)
    page = text(client.get("/c/"))
    assert "Ask for a new community" in page and "New community" not in page
    assert client.get("/c/new/").status_code == 404
    client.force_login(site_admin)
    page = text(client.get("/c/"))
    assert "New community" in page and "Ask for a new community" not in page


def test_open_creation_lets_a_verified_member_create_and_own_at_once(client, world, settings, make_user):
    settings.COPSITE_OPEN_COMMUNITY_CREATION = True
    client.force_login(world.outsider)
    assert client.get(REQUEST)["Location"] == "/c/new/"
    assert "New community" in text(client.get("/c/"))
    data = {
        "name": "Open Door",
        "slug": "open-door",
        "domain": "Anyone may start one.",
        "description": "",
        "visibility": "open",
        "join_policy": "open",
        "default_cadence": "weekly",
        "welcome": "",
    }
    response = client.post("/c/new/", data)
    assert response.status_code == 302 and response["Location"] == "/c/open-door/"
    membership = Membership.objects.get(community__slug="open-door")
    assert (membership.user, membership.role) == (world.outsider, "owner")
    # A duplicate name is refused with what was typed kept.
    response = client.post("/c/new/", {**data, "slug": "open-door-two", "name": "OPEN DOOR"})
    assert "A community with that name exists already" in text(response) and 'value="open-door-two"' in text(response)
    # An unverified account still may not.
    client.force_login(make_user("uma", verified=False))
    assert client.get("/c/new/").status_code == 404


def test_requests_show_read_only_in_the_admin(client, world, asked, site_admin):
    client.force_login(site_admin)
    listing = client.get("/admin/communities/communityrequest/")
    assert listing.status_code == 200 and "Night Nurses Circle" in text(listing)
    assert client.get("/admin/communities/communityrequest/add/").status_code == 403
    detail = client.get(f"/admin/communities/communityrequest/{asked.pk}/change/")
    assert detail.status_code == 200 and 'name="name"' not in detail.content.decode()
    client.post(f"/admin/communities/communityrequest/{asked.pk}/change/", {"name": "Changed"})
    asked.refresh_from_db()
    assert asked.name == "Night Nurses Circle"


@pytest.mark.parametrize("slug", ["request", "requests"])
def test_the_request_pages_addresses_are_reserved(client, site_admin, slug):
    client.force_login(site_admin)
    data = {
        "name": f"Named {slug}",
        "slug": slug,
        "domain": "x",
        "visibility": "open",
        "join_policy": "open",
        "default_cadence": "weekly",
    }
    response = client.post("/c/new/", data)
    assert "That address is reserved" in text(response)


@pytest.mark.parametrize("count", [3, 30])
def test_the_queue_and_the_request_page_cost_the_same_queries_with_few_or_many(
    client, world, site_admin, make_user, django_assert_max_num_queries, count
):
    from communities import services

    for n in range(count):
        asker = make_user(f"asker{n}")
        made = services.request_community(asker, **ask(name=f"Circle {n}"))
        if n % 2:
            services.decline_community_request(site_admin, made.pk, "Too close to another.")
        elif n % 3 == 0:
            services.approve_community_request(site_admin, made.pk)
    client.force_login(site_admin)
    with django_assert_max_num_queries(8):
        assert client.get(QUEUE).status_code == 200
    client.force_login(world.outsider)
    with django_assert_max_num_queries(8):
        assert client.get(REQUEST).status_code == 200
