"""Subgroups and guest experts through the HTTP layer: the authorization matrix.

Roles: tests/matrix.py's nine, plus ``subgroup_member`` (a member of the community who is in
its subgroup "Case review") and ``guest`` (an outsider asked into one thread). ``member`` is a
plain member outside the subgroup: the subgroup's thread is a 404 for them, as for everyone
but its members and the community's facilitators. Visibilities: open, restricted, private.

Outcomes as in tests/matrix.py: R 200 and content · P performed · L redirect to login · F 403
with a message · N 404 and none of the thread's words in the body. Every cell runs in a
savepoint rolled back afterwards, so one cell's reply can't satisfy another's.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from communities import services as community_services
from discussions import guests, services
from discussions.models import Post, Thread, ThreadGuest
from tests import factories, matrix
from tests.matrix import SUBGROUP_ROLES, SUBGROUP_VISIBILITIES

pytestmark = pytest.mark.django_db

ACTIONS = ["read_subgroup", "reply_subgroup", "read_guest", "reply_guest", "read_other", "list"]
SUBGROUP_WORDS = ("Wombatcase", "wombatbody")


class Stage:
    """One community's subgroup thread, guest thread and another thread."""

    def __init__(self, world, community, subgroup_member, guest) -> None:
        self.community = community
        self.subgroup = community_services.create_subgroup(world.facilitator, community, name="Case review")
        community_services.add_subgroup_member(world.facilitator, self.subgroup, subgroup_member)
        self.subgroup_thread = services.start_thread(
            subgroup_member,
            community,
            title=f"{SUBGROUP_WORDS[0]} in bed 4",
            body=f"The {SUBGROUP_WORDS[1]} details.",
            subgroup=self.subgroup,
        )
        self.guest_thread = services.start_thread(
            world.member, community, title="Ask the pharmacist", body="Dose banding question."
        )
        self.other_thread = services.start_thread(world.member, community, title="Rota swaps", body="Who swaps?")
        place = guests.invite_guest(world.facilitator, self.guest_thread, guest.email, days=14)
        guests.accept_place(guest, place)


@pytest.fixture
def stage(world, restricted, make_user):
    world.subgroup_member = make_user("sam", display_name="Sam Subgroup")
    world.guest = make_user("gus", display_name="Gus Guest")
    communities = {"open": world.public, "restricted": world.restricted, "private": world.private}
    for community in communities.values():
        factories.membership(world.subgroup_member, community)
    return {
        name: Stage(world, community, world.subgroup_member, world.guest) for name, community in communities.items()
    }


def _person(world, role):
    return matrix.person(world, role)


def _thread_url(thread: Thread) -> str:
    return f"/c/{thread.community.slug}/t/{thread.pk}/"


def run(client, world, st: Stage, role: str, action: str):
    """Do ``action`` as ``role``; return (outcome letter, detail)."""
    if action == "list":
        response = client.get(f"/c/{st.community.slug}/")
        if response.status_code != 200:
            return "N", response.status_code
        return ("R" if SUBGROUP_WORDS[0] in response.content.decode() else "N"), response.status_code
    thread = {
        "read_subgroup": st.subgroup_thread,
        "reply_subgroup": st.subgroup_thread,
        "read_guest": st.guest_thread,
        "reply_guest": st.guest_thread,
        "read_other": st.other_thread,
    }[action]
    if action.startswith("read"):
        response = client.get(_thread_url(thread))
        body = response.content.decode()
        if response.status_code == 404:
            assert thread.title not in body and SUBGROUP_WORDS[1] not in body
            return "N", 404
        assert response.status_code == 200 and thread.title in body, (response.status_code, role, action)
        return "R", 200
    before = Post.objects.filter(thread=thread).count()
    response = client.post(_thread_url(thread) + "reply/", {"body": f"Reply by {role} in the matrix"})
    after = Post.objects.filter(thread=thread).count()
    if response.status_code == 404:
        assert after == before
        assert thread.title not in response.content.decode()
        return "N", 404
    if response.status_code == 302 and "/accounts/login/" in response["Location"]:
        assert after == before
        return "L", 302
    if response.status_code == 403:
        assert after == before
        return "F", 403
    if after == before + 1:
        return "P", response.status_code
    return "?", response.status_code


@pytest.mark.parametrize("visibility", SUBGROUP_VISIBILITIES)
@pytest.mark.parametrize("role", SUBGROUP_ROLES)
def test_subgroup_and_guest_matrix(client, world, stage, settings, subtests, role, visibility):
    settings.POST_RATE_LIMIT = settings.NEW_ACCOUNT_POST_RATE_LIMIT = "1000/60"
    person = _person(world, role)
    if person is not None:
        client.force_login(person)
    st = stage[visibility]
    for action in ACTIONS:
        want = matrix.expected_subgroup_cell(role, visibility, action)
        with subtests.test(msg=f"{role}-{visibility}-{action}"), transaction.atomic():
            got, detail = run(client, world, st, role, action)
            transaction.set_rollback(True)
            assert got == want, f"{role} {visibility} {action}: expected {want}, got {got} ({detail})"


def test_a_plain_member_gets_404_for_a_subgroup_thread_and_its_replies(client, world, stage):
    st = stage["private"]
    reply = services.reply(world.subgroup_member, st.subgroup_thread, "wombatreply follow-up")
    client.force_login(world.member)
    for url in (
        _thread_url(st.subgroup_thread),
        f"/p/{reply.pk}/",
        f"/p/{reply.pk}/history/",
        f"/c/{st.community.slug}/t/{st.subgroup_thread.pk}/unread/",
        f"/c/{st.community.slug}/subgroups/{st.subgroup.slug}/",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "wombat" not in response.content.decode().lower()


def test_the_guests_access_ends_by_itself_at_expiry(client, world, stage):
    st = stage["private"]
    client.force_login(world.guest)
    assert client.get(_thread_url(st.guest_thread)).status_code == 200
    ThreadGuest.objects.filter(user=world.guest).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get(_thread_url(st.guest_thread)).status_code == 404
    response = client.post(_thread_url(st.guest_thread) + "reply/", {"body": "Too late"})
    assert response.status_code == 404
    assert not Post.objects.filter(thread=st.guest_thread, author=world.guest).exists()


def test_a_revoked_guest_is_out_at_once_and_an_extension_lets_them_back(client, world, stage):
    st = stage["restricted"]
    place = ThreadGuest.objects.get(user=world.guest, thread=st.guest_thread)
    guests.revoke_place(world.facilitator, place)
    client.force_login(world.guest)
    assert client.get(_thread_url(st.guest_thread)).status_code == 404
    guests.extend_place(world.facilitator, place, 3)
    assert client.get(_thread_url(st.guest_thread)).status_code == 200
    actions = list(st.community.audit_entries.values_list("action", flat=True))
    assert {"guest.invite", "guest.accept", "guest.revoke", "guest.extend"} <= set(actions)


def test_leaving_or_a_ban_ends_subgroup_access_through_policy(client, world, stage):
    st = stage["open"]
    client.force_login(world.subgroup_member)
    assert client.get(_thread_url(st.subgroup_thread)).status_code == 200
    community_services.leave(world.subgroup_member, st.community)
    assert client.get(_thread_url(st.subgroup_thread)).status_code == 404
    assert SUBGROUP_WORDS[0] not in client.get(f"/c/{st.community.slug}/").content.decode()
    # Search finds the subgroup threads of the restricted and private communities (still theirs), not this one.
    found = client.get("/search/?q=Wombatcase").content.decode()
    assert found.count("in bed 4") == 2
    assert _thread_url(st.subgroup_thread) not in found
    assert _thread_url(stage["private"].subgroup_thread) in found
