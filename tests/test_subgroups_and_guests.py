"""Subgroups and guest experts: what facilitators, members and guests see and do, and every
form's invalid and hostile input (a rejected form keeps what was typed; nothing changes)."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from communities import services as community_services
from communities.models import AuditEntry, Membership, Subgroup, SubgroupMembership
from core.models import OutboundEmail
from discussions import guests, services
from discussions.models import Post, Thread, ThreadGuest
from tests import factories

pytestmark = pytest.mark.django_db

SUBGROUPS = "/c/commons/subgroups/"


@pytest.fixture
def case_review(world, make_user):
    """A subgroup "Case review" of the public community, with Sam in it and one thread."""
    world.sam = make_user("sam", display_name="Sam Subgroup")
    factories.membership(world.sam, world.public)
    group = community_services.create_subgroup(world.facilitator, world.public, name="Case review")
    community_services.add_subgroup_member(world.facilitator, group, world.sam)
    thread = services.start_thread(
        world.sam, world.public, title="Bed 4 Wombatcase", body="wombatbody notes", subgroup=group
    )
    return group, thread


def value_of(body: str, name: str) -> str:
    """The value an input named ``name`` shows (what the person typed, kept)."""
    match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', body) or re.search(
        rf'<input[^>]*value="([^"]*)"[^>]*name="{name}"', body
    )
    return html.unescape(match.group(1)) if match else ""


# --- Subgroups: the happy path -----------------------------------------------------------------


def test_a_facilitator_creates_a_subgroup_and_it_is_audited(client, world):
    client.force_login(world.facilitator)
    response = client.post(SUBGROUPS, {"name": "Case review", "description": "Hard cases, in confidence"})
    group = Subgroup.objects.get(community=world.public)
    assert response.status_code == 302 and response["Location"] == f"/c/commons/subgroups/{group.slug}/"
    assert group.slug == "case-review"
    assert AuditEntry.objects.filter(community=world.public, action="subgroup.create").count() == 1
    page = client.get(response["Location"]).content.decode()
    assert "Case review" in page and "Hard cases, in confidence" in page


def test_members_see_subgroup_names_only_and_outsiders_nothing(client, world, case_review):
    group, _thread = case_review
    client.force_login(world.member)
    page = client.get("/c/commons/").content.decode()
    assert "Subgroups" in page and "Case review" in page and "ask a facilitator" in page
    assert "Wombatcase" not in page
    assert client.get(f"/c/commons/subgroups/{group.slug}/").status_code == 404
    for person in (world.outsider, world.pending, world.banned, world.other_facilitator, None):
        visitor = Client()
        if person is not None:
            visitor.force_login(person)
        page = visitor.get("/c/commons/").content.decode()
        assert "Case review" not in page and "Subgroups" not in page and "Wombatcase" not in page
        assert visitor.get(f"/c/commons/subgroups/{group.slug}/").status_code == 404
        assert visitor.get(SUBGROUPS).status_code == 404


def test_the_thread_says_who_reads_it(client, world, case_review):
    _group, thread = case_review
    client.force_login(world.sam)
    page = client.get(thread.get_absolute_url()).content.decode()
    assert "visible to its 1 member and the community's facilitators" in page
    client.force_login(world.facilitator)
    assert client.get(thread.get_absolute_url()).status_code == 200


def test_the_composer_offers_only_the_posters_subgroups(client, world, case_review):
    group, _ = case_review
    other = community_services.create_subgroup(world.facilitator, world.public, name="Night shift")
    client.force_login(world.sam)
    page = client.get("/c/commons/threads/new/").content.decode()
    assert "Case review" in page and "Night shift" not in page and "The whole community" in page
    # Another subgroup's id: refused, nothing posted, the text kept.
    response = client.post(
        "/c/commons/threads/new/",
        {"title": "Sneaky title", "kind": "discussion", "body": "Sneaky body", "subgroup": other.pk},
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert value_of(response.content.decode(), "title") == "Sneaky title"
    assert not Thread.objects.filter(title="Sneaky title").exists()
    response = client.post(
        "/c/commons/threads/new/",
        {"title": "Fine title", "kind": "discussion", "body": "Fine body", "subgroup": group.pk},
    )
    assert response.status_code == 302
    assert Thread.objects.get(title="Fine title").subgroup == group
    # A plain member's composer has no choice at all.
    client.force_login(world.member)
    assert "Who reads it" not in client.get("/c/commons/threads/new/").content.decode()


def test_adding_and_removing_members_is_audited_and_only_active_members_can_be_added(client, world, case_review):
    group, thread = case_review
    client.force_login(world.facilitator)
    url = f"/c/commons/subgroups/{group.slug}/"
    page = client.get(url).content.decode()
    assert "Mira Member" in page  # an active member, offered
    assert "Otto Outsider" not in page and "Bo Banned" not in page and "Pat Pending" not in page
    for stranger in (world.outsider, world.banned, world.pending):
        response = client.post(url + "add/", {"person": stranger.pk})
        assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    assert not SubgroupMembership.objects.filter(subgroup=group, user__in=[world.outsider, world.banned]).exists()
    assert client.post(url + "add/", {"person": world.member.pk}).status_code == 302
    assert client.post(url + f"remove/{world.sam.pk}/").status_code == 302
    actions = list(AuditEntry.objects.filter(community=world.public).values_list("action", flat=True))
    assert actions.count("subgroup.add") == 2 and actions.count("subgroup.remove") == 1
    client.force_login(world.sam)
    assert client.get(thread.get_absolute_url()).status_code == 404


def test_leaving_or_removal_ends_subgroup_places_and_a_ban_keeps_them_for_its_lifting(client, world, case_review):
    group, thread = case_review
    url = thread.get_absolute_url()
    client.force_login(world.sam)
    assert client.get(url).status_code == 200
    community_services.leave(world.sam, world.public)
    community_services.join(world.sam, world.public)
    assert client.get(url).status_code == 404  # back in the community, not in the subgroup
    assert not SubgroupMembership.objects.filter(subgroup=group).exists()
    # Removed by a facilitator: the same.
    community_services.add_subgroup_member(world.facilitator, group, world.sam)
    membership = Membership.objects.get(user=world.sam, community=world.public)
    community_services.remove_member(world.facilitator, world.public, membership.pk, ban=False)
    assert not SubgroupMembership.objects.filter(subgroup=group).exists()
    # Banned, then the ban lifted: the place comes back with the membership.
    community_services.join(world.sam, world.public)
    community_services.add_subgroup_member(world.facilitator, group, world.sam)
    community_services.remove_member(world.facilitator, world.public, membership.pk, ban=True, reason="Spam")
    assert client.get(url).status_code == 404
    community_services.unban(world.facilitator, world.public, membership.pk)
    assert client.get(url).status_code == 200


def test_a_subgroup_with_threads_is_not_deleted_and_an_empty_one_is(client, world, case_review):
    group, _ = case_review
    client.force_login(world.facilitator)
    response = client.post(f"/c/commons/subgroups/{group.slug}/delete/", follow=True)
    assert "has 1 thread" in response.content.decode()
    assert Subgroup.objects.filter(pk=group.pk).exists()
    empty = community_services.create_subgroup(world.facilitator, world.public, name="Empty")
    assert client.post(f"/c/commons/subgroups/{empty.slug}/delete/").status_code == 302
    assert not Subgroup.objects.filter(pk=empty.pk).exists()
    assert AuditEntry.objects.filter(action="subgroup.delete").count() == 1


def test_renaming_keeps_the_address(client, world, case_review):
    group, _ = case_review
    client.force_login(world.facilitator)
    response = client.post(f"/c/commons/subgroups/{group.slug}/edit/", {"name": "Case conference"})
    assert response.status_code == 302 and response["Location"].endswith("/case-review/")
    group.refresh_from_db()
    assert group.name == "Case conference" and group.slug == "case-review"
    assert AuditEntry.objects.filter(action="subgroup.edit", detail__contains="Case conference").exists()


def test_a_subgroup_thread_can_not_be_moved_out_of_its_community(client, world, case_review):
    _, thread = case_review
    client.force_login(world.owner)  # owns public and private: could move it otherwise
    page = client.get(f"/c/commons/t/{thread.pk}/moderate/").content.decode()
    assert "stays in this community" in page
    response = client.post(f"/c/commons/t/{thread.pk}/moderate/", {"action": "move", "community": world.private.pk})
    assert response.status_code == 302
    thread.refresh_from_db()
    assert thread.community_id == world.public.pk


# --- Subgroups: invalid and hostile input ----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("", "This field is required"),
        ("   ", "This field is required"),
        ("x" * 61, "at most 60 characters"),
        ("Bad\x00name", "Null characters are not allowed"),
    ],
)
def test_a_bad_subgroup_name_is_refused_and_kept(client, world, name, error):
    client.force_login(world.facilitator)
    response = client.post(SUBGROUPS, {"name": name, "description": "kept description"})
    assert response.status_code == 400
    assert error in html.unescape(response.content.decode())
    assert value_of(response.content.decode(), "description") == "kept description"
    assert not Subgroup.objects.exists()


def test_a_too_long_description_and_a_duplicate_name_are_refused(client, world, case_review):
    client.force_login(world.facilitator)
    response = client.post(SUBGROUPS, {"name": "Fresh", "description": "d" * 201})
    assert response.status_code == 400 and "at most 200 characters" in response.content.decode()
    response = client.post(SUBGROUPS, {"name": "case REVIEW", "description": "again"})
    assert response.status_code == 400 and "already has a subgroup called" in html.unescape(response.content.decode())
    assert value_of(response.content.decode(), "name") == "case REVIEW"
    assert Subgroup.objects.count() == 1


def test_script_in_a_subgroup_name_is_shown_as_text(client, world):
    client.force_login(world.facilitator)
    hostile = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    client.post(SUBGROUPS, {"name": hostile[:60], "description": "{{ 7*7 }} {% now 'Y' %}"})
    group = Subgroup.objects.get()
    for url in ("/c/commons/", SUBGROUPS, f"/c/commons/subgroups/{group.slug}/"):
        body = client.get(url).content.decode()
        assert "<script>alert(1)" not in body and "<img src=x" not in body, url
        assert "&lt;script&gt;" in body, url
    body = client.get(f"/c/commons/subgroups/{group.slug}/").content.decode()
    assert "{{ 7*7 }} {% now 'Y' %}" in html.unescape(body)  # shown as typed, not run


def test_subgroup_forms_need_csrf_and_a_facilitator(world, case_review):
    group, _ = case_review
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(world.facilitator)
    assert strict.post(SUBGROUPS, {"name": "No token"}).status_code == 403
    assert strict.post(f"/c/commons/subgroups/{group.slug}/add/", {"person": world.member.pk}).status_code == 403
    assert strict.post(f"/c/commons/subgroups/{group.slug}/delete/").status_code == 403
    assert not Subgroup.objects.filter(name="No token").exists()
    member = Client()
    member.force_login(world.member)
    assert member.post(SUBGROUPS, {"name": "By a member"}).status_code == 403
    sam = Client()
    sam.force_login(world.sam)  # in the subgroup, not a facilitator
    assert sam.post(f"/c/commons/subgroups/{group.slug}/add/", {"person": world.member.pk}).status_code == 403
    assert sam.post(f"/c/commons/subgroups/{group.slug}/delete/").status_code == 403
    assert not Subgroup.objects.filter(name="By a member").exists()
    assert Subgroup.objects.filter(pk=group.pk).exists()
    assert not SubgroupMembership.objects.filter(subgroup=group, user=world.member).exists()


# --- Guests -------------------------------------------------------------------------------------


@pytest.fixture
def private_thread(world):
    return services.start_thread(world.member, world.private, title="Ask the Quokka expert", body="Dosing question")


def guests_url(thread: Thread) -> str:
    return f"/c/{thread.community.slug}/t/{thread.pk}/guests/"


def test_a_facilitator_invites_a_guest_by_email_and_it_is_audited(client, world, private_thread):
    client.force_login(world.facilitator)
    response = client.post(
        guests_url(private_thread), {"email": "expert@example.net", "days": "30", "message": "Your view?"}
    )
    assert response.status_code == 302
    place = ThreadGuest.objects.get()
    assert place.email == "expert@example.net"
    assert timedelta(days=29, hours=23) < place.expires_at - timezone.now() <= timedelta(days=30)
    mail = OutboundEmail.objects.get(to="expert@example.net")
    assert "Ask the Quokka expert" in mail.body_text and "/guest/" in mail.body_text
    assert AuditEntry.objects.filter(action="guest.invite", community=world.private).count() == 1
    page = client.get(guests_url(private_thread)).content.decode()
    assert "expert@example.net" in page and "Invited" in page


@pytest.mark.parametrize(
    ("email", "days", "error"),
    [
        ("not-an-email", "14", "Enter a valid email address"),
        ("a@b", "14", "Enter a valid email address"),
        ("x@example.org\r\nBcc: evil@example.net", "14", "Enter a valid email address"),
        ("ok@example.org", "0", "greater than or equal to 1"),
        ("ok@example.org", "91", "less than or equal to 90"),
        ("ok@example.org", "-3", "greater than or equal to 1"),
        ("ok@example.org", "fourteen", "Enter a whole number"),
        ("ok@example.org", "", "This field is required"),
    ],
)
def test_a_bad_guest_invitation_is_refused_and_kept(client, world, private_thread, email, days, error):
    client.force_login(world.facilitator)
    response = client.post(guests_url(private_thread), {"email": email, "days": days, "message": "kept note"})
    body = html.unescape(response.content.decode())
    assert response.status_code == 400
    assert error in body
    assert "kept note" in body
    assert (
        not ThreadGuest.objects.exists() and not OutboundEmail.objects.filter(kind__startswith="discussions").exists()
    )


def test_guest_forms_need_csrf_and_a_facilitator(world, private_thread):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(world.facilitator)
    assert strict.post(guests_url(private_thread), {"email": "e@example.org", "days": "5"}).status_code == 403
    member = Client()
    member.force_login(world.member)
    assert member.post(guests_url(private_thread), {"email": "e@example.org", "days": "5"}).status_code == 403
    outsider = Client()
    outsider.force_login(world.outsider)
    assert outsider.post(guests_url(private_thread), {"email": "e@example.org", "days": "5"}).status_code == 404
    assert not ThreadGuest.objects.exists()
    place = guests.invite_guest(world.facilitator, private_thread, "e@example.org", days=5)
    assert member.post(f"{guests_url(private_thread)}{place.pk}/revoke/").status_code == 403
    assert strict.post(f"{guests_url(private_thread)}{place.pk}/revoke/").status_code == 403
    place.refresh_from_db()
    assert place.revoked_at is None


def test_extending_needs_days_in_range(client, world, private_thread):
    place = guests.invite_guest(world.facilitator, private_thread, "e@example.org", days=5)
    before = place.expires_at
    client.force_login(world.facilitator)
    for days in ("0", "91", "x"):
        response = client.post(f"{guests_url(private_thread)}{place.pk}/extend/", {"days": days}, follow=True)
        assert "Choose between 1 and 90 days" in response.content.decode()
    place.refresh_from_db()
    assert place.expires_at == before
    client.post(f"{guests_url(private_thread)}{place.pk}/extend/", {"days": "60"})
    place.refresh_from_db()
    assert place.expires_at > timezone.now() + timedelta(days=59)


def test_the_guest_link_lets_in_only_the_invited_address(client, world, private_thread, make_user):
    place = guests.invite_guest(world.facilitator, private_thread, "expert@example.net", days=14)
    url = f"/guest/{guests.guest_token(place)}/"
    page = client.get(url).content.decode()
    assert "Log in" in page and "Ask the Quokka expert" in page
    someone = make_user("someone", email="someone@example.net")
    client.force_login(someone)
    response = client.post(url)
    assert response.status_code == 400 and "was sent to expert@example.net" in response.content.decode()
    assert client.get(private_thread.get_absolute_url()).status_code == 404
    expert = make_user("expert", email="expert@example.net", display_name="Eve Expert")
    client.force_login(expert)
    response = client.post(url)
    assert response.status_code == 302 and response["Location"] == private_thread.get_absolute_url()
    page = client.get(private_thread.get_absolute_url()).content.decode()
    assert "You are a guest in this thread" in page
    client.post(private_thread.get_absolute_url() + "reply/", {"body": "Guest view: halve it."})
    post = Post.objects.get(author=expert)
    assert post.by_guest
    page = client.get(private_thread.get_absolute_url()).content.decode()
    assert 'class="badge badge-guest"' in page
    # Nothing else of the community.
    for other in ("/c/circle/", "/c/circle/library/", "/c/circle/events/", "/c/circle/threads/new/"):
        assert client.get(other).status_code == 404, other
    home = client.get("/").content.decode()
    assert "Threads you're a guest in" in home and "Ask the Quokka expert" in home


@pytest.mark.parametrize("token", ["nonsense", "x" * 300, "%3Cscript%3E"])
def test_a_tampered_guest_link_says_it_is_not_valid(client, token):
    response = client.get(f"/guest/{token}/")
    assert response.status_code == 400
    assert "not valid" in response.content.decode()


def test_after_expiry_the_link_says_access_has_ended(client, world, private_thread, make_user):
    expert = make_user("expert", email="expert@example.net")
    place = guests.invite_guest(world.facilitator, private_thread, expert.email, days=14)
    guests.accept_place(expert, place)
    ThreadGuest.objects.filter(pk=place.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    client.force_login(expert)
    response = client.get(f"/guest/{guests.guest_token(place)}/")
    assert response.status_code == 410 and "has ended" in response.content.decode()
    assert client.get(private_thread.get_absolute_url()).status_code == 404
    assert "Threads you're a guest in" not in client.get("/").content.decode()


def test_a_banned_person_can_not_be_a_guest(client, world, private_thread):
    client.force_login(world.facilitator)
    response = client.post(guests_url(private_thread), {"email": world.banned.email, "days": "5"})
    assert response.status_code == 400 and "is banned" in response.content.decode()


def test_a_community_export_keeps_subgroup_threads_in_their_subgroup_when_restored(world, case_review, tmp_path):
    import io

    from django.core.management import call_command

    import portability.community
    from communities.models import Community

    _group, thread = case_review
    path = tmp_path / "commons.zip"
    with path.open("wb") as out:
        document = portability.community.write_zip(world.public, out)
    assert document["subgroups"] == [
        {
            "name": "Case review",
            "slug": "case-review",
            "description": "",
            "members": [document["subgroups"][0]["members"][0]],
        }
    ]
    assert [t["subgroup"] for t in document["threads"] if t["title"] == thread.title] == ["case-review"]
    Post.objects.filter(thread__community=world.public).update(parent=None)
    Thread.objects.filter(community=world.public).delete()
    Subgroup.objects.filter(community=world.public).delete()
    Community.objects.filter(pk=world.public.pk).delete()
    call_command("restore_community", str(path), stdout=io.StringIO())
    restored = Thread.objects.get(title=thread.title)
    assert restored.subgroup is not None and restored.subgroup.name == "Case review"
    assert list(restored.subgroup.memberships.values_list("user_id", flat=True)) == [world.sam.pk]
    client = Client()
    client.force_login(world.member)
    assert client.get(restored.get_absolute_url()).status_code == 404
