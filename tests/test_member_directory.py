"""The member directory (/c/<slug>/members/) and a member's expertise (/c/<slug>/membership/)."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import User
from communities import services as community_services
from communities.models import MemberExpertise, Membership
from tests import factories
from tests.matrix import ROLES, person

pytestmark = pytest.mark.django_db


@pytest.fixture
def tagged(world):
    """The public community's vocabulary: the tags of its threads and resources."""
    factories.thread(world.owner, world.public, title="Delirium at night", tags=["delirium", "night-shift"])
    factories.thread(world.owner, world.public, title="Falls", tags=["falls"])
    factories.resource(world.owner, world.public, title="Handover card", url="https://example.org/c", tags=["handover"])
    factories.thread(world.owner, world.private, title="Private", tags=["secret-private-tag"])
    factories.thread(world.owner, world.approval, title="Elsewhere", tags=["pacing"])
    return world


def listed(page: str) -> str:
    """The directory's list (after the header, which names the person reading)."""
    return page.split('class="member-list"')[1]


def save_expertise(user, community, names):
    return community_services.set_expertise(user, community, names)


# --- Who may see it ----------------------------------------------------------------------------


@pytest.mark.parametrize("slug", ["commons", "circle", "studio"])
def test_outsiders_and_visitors_get_404(client, restricted, slug):
    world = restricted
    client.force_login(world.outsider)
    assert client.get(f"/c/{slug}/members/").status_code == 404
    for someone in (world.pending, world.banned):
        client.force_login(someone)
        assert client.get(f"/c/{slug}/members/").status_code == 404
    client.logout()
    response = client.get(f"/c/{slug}/members/")
    assert response.status_code == 404
    assert "Mira Member" not in response.content.decode()


def test_member_sees_the_members_of_a_restricted_community(client, restricted):
    client.force_login(restricted.member)
    page = client.get("/c/studio/members/").content.decode()
    assert "Fern Facilitator" in page and "Olive Owner" in page and "Mira Member" in page
    assert "Pat Pending" not in page and "Bo Banned" not in page


def test_member_sees_no_levels_facilitator_does(client, world):
    Membership.objects.filter(user=world.member, community=world.public).update(level=Membership.Level.CORE)
    client.force_login(world.member)
    page = client.get("/c/commons/members/?level=peripheral").content.decode()
    assert "Level:" not in page and 'name="level"' not in page
    assert "Mira Member" in page  # the level filter is not theirs: ignored
    client.force_login(world.facilitator)
    page = client.get("/c/commons/members/").content.decode()
    assert "Level: Core" in page and 'name="level"' in page
    filtered = listed(client.get("/c/commons/members/?level=core").content.decode())
    assert "Mira Member" in filtered and "Fern Facilitator" not in filtered


def test_community_page_links_the_directory_for_members_only(client, world):
    client.force_login(world.member)
    assert 'href="/c/commons/members/"' in client.get("/c/commons/").content.decode()
    client.force_login(world.outsider)
    assert 'href="/c/commons/members/"' not in client.get("/c/commons/").content.decode()


# --- Search and filters ------------------------------------------------------------------------


def test_search_by_name_and_filter_by_role(client, world):
    client.force_login(world.member)
    page = listed(client.get("/c/commons/members/?q=fern").content.decode())
    assert "Fern Facilitator" in page and "Mira Member" not in page
    page = client.get("/c/commons/members/?role=owner").content.decode()
    assert "Olive Owner" in listed(page) and "Fern Facilitator" not in listed(page) and "1 member found" in page


def test_filter_by_expertise_tag(client, tagged):
    world = tagged
    save_expertise(world.member, world.public, ["delirium", "falls"])
    save_expertise(world.facilitator, world.public, ["handover"])
    client.force_login(world.owner)
    page = listed(client.get("/c/commons/members/?tag=delirium").content.decode())
    assert "Mira Member" in page and "Fern Facilitator" not in page
    assert 'href="?tag=falls"' in page  # her tags, each a filter
    assert "secret-private-tag" not in page and "pacing" not in page  # other communities' vocabularies


def test_script_in_the_search_is_shown_as_text(client, world):
    client.force_login(world.member)
    response = client.get("/c/commons/members/", {"q": '"><script>alert(1)</script>'})
    page = response.content.decode()
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "No members match." in page


def test_unknown_filters_are_left_out(client, world):
    client.force_login(world.member)
    response = client.get("/c/commons/members/", {"role": "emperor", "tag": "nope", "page": "x"})
    page = response.content.decode()
    assert response.status_code == 200 and "Mira Member" in page
    assert "were not understood and were left out: role, expertise." in page
    # A filter that parses is kept beside one that doesn't.
    page = client.get("/c/commons/members/", {"q": "fern", "role": "emperor"}).content.decode()
    assert "Fern Facilitator" in listed(page) and "Mira Member" not in listed(page)


def test_directory_is_paginated(client, world, make_user):
    for i in range(35):
        factories.membership(make_user(f"p{i:02d}", display_name=f"Person {i:02d}"), world.public)
    client.force_login(world.member)
    first = client.get("/c/commons/members/").content.decode()
    assert "Page 1 of 2" in first and "38 members" in first
    second = client.get("/c/commons/members/?page=2").content.decode()
    assert "Person 34" in second and "Person 34" not in first


def test_directory_costs_at_most_five_queries_with_200_tagged_members(client, tagged, django_assert_max_num_queries):
    world = tagged
    users = User.objects.bulk_create(
        [User(username=f"m{i:03d}", display_name=f"Member {i:03d}", email=f"m{i}@example.org") for i in range(200)]
    )
    memberships = Membership.objects.bulk_create(
        [Membership(user=u, community=world.public, expertise=["delirium", "falls"]) for u in users]
    )
    MemberExpertise.objects.bulk_create(
        [MemberExpertise(membership=m, community=world.public, name="delirium") for m in memberships]
    )
    client.force_login(world.facilitator)
    client.get("/c/commons/")  # the day's visit is recorded once
    # Fern has unread notifications (the bell: a look, then the count); the page: the user, the community
    # with her membership, the page of members with their expertise and the total (one statement). The
    # filter's vocabulary comes from the cache after the first visit (communities/expertise.py).
    client.get("/c/commons/members/")
    for query in ("", "?tag=delirium", "?q=member&role=member&level=peripheral", "?page=3"):
        with django_assert_max_num_queries(5):
            page = client.get(f"/c/commons/members/{query}").content.decode()
        assert "delirium" in page


# --- Expertise -------------------------------------------------------------------------------


def test_member_declares_expertise_from_the_vocabulary(client, tagged):
    world = tagged
    client.force_login(world.member)
    page = client.get("/c/commons/membership/").content.decode()
    assert 'value="delirium"' in page and 'value="handover"' in page and "pacing" not in page
    response = client.post("/c/commons/membership/", {"expertise": ["delirium", "handover"]}, follow=True)
    assert "Your expertise is saved" in response.content.decode()
    mine = Membership.objects.get(user=world.member, community=world.public)
    assert mine.expertise == ["delirium", "handover"]
    assert set(MemberExpertise.objects.filter(membership=mine).values_list("name", flat=True)) == {
        "delirium",
        "handover",
    }
    client.post("/c/commons/membership/", {"expertise": ["falls"]})
    assert list(MemberExpertise.objects.filter(membership=mine).values_list("name", flat=True)) == ["falls"]


def test_tags_outside_the_vocabulary_are_refused_and_the_choice_kept(client, tagged):
    world = tagged
    client.force_login(world.member)
    response = client.post("/c/commons/membership/", {"expertise": ["delirium", "secret-private-tag"]})
    page = response.content.decode()
    assert response.status_code == 400
    assert "Select a valid choice" in page
    assert 'value="delirium" checked' in page or ('value="delirium"' in page and "checked" in page)
    assert Membership.objects.get(user=world.member, community=world.public).expertise == []


def test_service_refuses_tags_outside_the_vocabulary(tagged):
    with pytest.raises(community_services.MembershipError, match="not a tag used in this community"):
        save_expertise(tagged.member, tagged.public, ["<script>alert(1)</script>"])


def test_too_many_tags_are_refused(client, tagged, make_user):
    world = tagged
    factories.thread(world.owner, world.public, title="More", tags=["a1", "a2", "a3"])
    client.force_login(world.member)
    six = ["delirium", "night-shift", "falls", "handover", "a1", "a2"]
    response = client.post("/c/commons/membership/", {"expertise": six})
    assert response.status_code == 400 and "Choose at most 5 tags; you chose 6." in response.content.decode()
    assert not MemberExpertise.objects.exists()
    with pytest.raises(community_services.MembershipError, match="at most 5"):
        save_expertise(world.member, world.public, six)


def test_expertise_page_needs_membership_and_csrf(tagged):
    world = tagged
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.outsider)
    assert client.get("/c/commons/membership/").status_code == 404
    assert client.get("/c/circle/membership/").status_code == 404
    client.force_login(world.member)
    assert client.post("/c/commons/membership/", {"expertise": ["delirium"]}).status_code == 403
    assert Membership.objects.get(user=world.member, community=world.public).expertise == []
    anonymous = Client()
    response = anonymous.get("/c/commons/membership/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- Every role, every visibility ------------------------------------------------------------

SEE_DIRECTORY = {"member", "facilitator", "owner", "admin"}
SEE_LEVELS = {"facilitator", "owner", "admin"}


@pytest.mark.parametrize("slug", ["commons", "studio", "circle"])
@pytest.mark.parametrize("role", ROLES)
def test_directory_by_role_and_visibility(client, restricted, role, slug):
    """Members, facilitators, owners and site admins read it (levels: all but plain members); everyone else: 404."""
    who = person(restricted, role)
    if who is not None:
        client.force_login(who)
    response = client.get(f"/c/{slug}/members/")
    page = response.content.decode()
    if role not in SEE_DIRECTORY:
        assert response.status_code == 404
        assert "Mira Member" not in page and "members found" not in page
        return
    assert response.status_code == 200 and "Mira Member" in listed(page)
    assert ("Level:" in page) == (role in SEE_LEVELS)
