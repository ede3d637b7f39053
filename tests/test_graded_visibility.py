"""Graded visibility: open, restricted, private; who finds a community, who reads inside it.

Uses conftest's ``restricted`` world: "Kestrel Lattice Studio" (``studio``), restricted and
joined on request, beside the open ``commons`` and the private ``circle``.
"""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from communities import policy, services
from communities.models import ALLOWED_JOIN_POLICIES, AuditEntry, Community, Membership
from discussions import services as discussions
from discussions.models import Thread
from tests import factories

pytestmark = pytest.mark.django_db
Vis, Join = Community.Visibility, Community.JoinPolicy


def text(response) -> str:
    return unescape(response.content.decode())


form_data = factories.settings_form


@pytest.fixture
def inside(restricted):
    """A thread, a resource and an event inside the restricted community."""
    w = restricted
    thread = discussions.start_thread(w.member, w.restricted, title="Umbrella drill notes", body="Step one.")
    discussions.reply(w.facilitator, thread, "Step two.")
    factories.resource(w.member, w.restricted, kind="file", title="Drill card", file=("drill.pdf", b"%PDF-1.4\n%%EOF"))
    factories.event(w.facilitator, w.restricted, title="Drill practice")
    return thread


# --- The one table of allowed pairs ---------------------------------------------------------------


def test_every_visibility_has_allowed_join_policies_and_private_is_invitation_only():
    assert set(ALLOWED_JOIN_POLICIES) == set(Vis.values)
    assert ALLOWED_JOIN_POLICIES[Vis.PRIVATE] == (Join.INVITE,)
    assert Join.APPROVAL in ALLOWED_JOIN_POLICIES[Vis.RESTRICTED]


def test_the_database_refuses_a_private_community_joined_on_request(world):
    with pytest.raises(IntegrityError), transaction.atomic():
        Community.objects.filter(pk=world.private.pk).update(join_policy=Join.APPROVAL)


def test_the_settings_form_refuses_private_with_join_on_request_and_keeps_what_was_typed(client, world):
    client.force_login(world.owner)
    data = form_data(world.public, visibility="private", join_policy="approval", domain="Typed, not saved.")
    response = client.post("/c/commons/edit/", data)
    page = text(response)
    assert response.status_code == 200
    assert "A private community can't take requests to join: nobody outside it can see it." in page
    assert "Choose “By invitation only”, or make it restricted so people can find it and ask to join." in page
    assert "Typed, not saved.</textarea>" in page
    assert re.search(r'value="private"[^>]*checked', page) and re.search(r'value="approval"[^>]*checked', page)
    stored = Community.objects.get(pk=world.public.pk)
    assert (stored.visibility, stored.join_policy, stored.domain) == ("open", "open", world.public.domain)


def test_the_settings_form_refuses_restricted_with_an_open_door(client, world):
    client.force_login(world.owner)
    response = client.post("/c/commons/edit/", form_data(world.public, visibility="restricted"))
    assert "A restricted community can't be open to anyone joining" in text(response)
    assert Community.objects.get(pk=world.public.pk).visibility == "open"


@pytest.mark.parametrize("value", ["public", "PRIVATE", "restricted ", "", "<script>alert(1)</script>", "open\x00"])
def test_the_settings_form_refuses_visibilities_that_do_not_exist(client, world, value):
    client.force_login(world.owner)
    response = client.post("/c/commons/edit/", form_data(world.public, visibility=value))
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.content.decode()
    assert Community.objects.get(pk=world.public.pk).visibility == "open"


def test_the_service_refuses_a_contradiction_too(world):
    with pytest.raises(services.CommunityError, match="can't take requests to join"):
        services.update_community(world.owner, world.private, join_policy=Join.APPROVAL)


# --- Who sees a community, who reads inside it ------------------------------------------------------


def test_policy_sees_the_front_page_apart_from_the_content(restricted):
    w = restricted
    anonymous = AnonymousUser()
    for person in (anonymous, w.outsider, w.pending, w.banned, w.other_facilitator):
        assert policy.can_see_community(person, w.restricted)
        assert not policy.can_view_community(person, w.restricted)
        assert not policy.can_see_community(person, w.private)
    for person in (w.member, w.facilitator, w.owner, w.admin):
        assert policy.can_see_community(person, w.restricted) and policy.can_view_community(person, w.restricted)


def test_the_directory_lists_open_and_restricted_to_everyone_and_private_only_to_members(client, restricted):
    page = text(client.get("/c/"))
    assert "Ward Commons" in page and "Kestrel Lattice Studio" in page
    assert "Zebra Quince Circle" not in page and "Elsewhere" not in page
    assert "Night-shift handover drills" in page
    client.force_login(restricted.outsider)
    assert "Zebra Quince Circle" not in text(client.get("/c/"))
    client.force_login(restricted.member)
    page = text(client.get("/c/"))
    assert "Zebra Quince Circle" in page and "Kestrel Lattice Studio" in page and "Elsewhere" not in page


def test_the_directory_search_finds_a_restricted_community_by_its_domain(client, restricted):
    assert "Kestrel Lattice Studio" in text(client.get("/c/?q=handover+drills"))


def test_site_search_finds_a_restricted_community_by_name_but_not_what_is_inside(client, inside):
    page = text(client.get("/search/?q=Kestrel"))
    assert 'href="/c/studio/"' in page and "Night-shift handover drills" in page
    page = text(client.get("/search/?q=Umbrella"))
    assert "Umbrella drill notes" not in page and "Nothing found" in page
    client.force_login(inside.author)
    assert "Umbrella drill notes" in text(client.get("/search/?q=Umbrella"))


@pytest.mark.parametrize("as_member", [False, True])
def test_the_directory_of_a_thousand_communities_costs_at_most_four_queries(
    client, world, as_member, django_assert_max_num_queries
):
    Community.objects.bulk_create(
        Community(
            name=f"Practice {i:04d}",
            slug=f"practice-{i:04d}",
            domain="Practice.",
            visibility=[Vis.OPEN, Vis.RESTRICTED, Vis.PRIVATE][i % 3],
            join_policy=Join.INVITE,
        )
        for i in range(1000)
    )
    if as_member:
        client.force_login(world.member)
        client.get("/c/")  # the session and the user, as on any page after the first
    with django_assert_max_num_queries(4):
        response = client.get("/c/?page=2")
    assert response.status_code == 200
    assert text(response).count('class="card community-card"') == 20


# --- The restricted front page ------------------------------------------------------------------


def test_an_outsider_sees_name_domain_facilitators_and_ask_to_join_and_nothing_else(client, inside, restricted):
    client.force_login(restricted.outsider)
    response = client.get("/c/studio/")
    page = text(response)
    assert response.status_code == 200
    assert "Kestrel Lattice Studio" in page and "Night-shift handover drills" in page
    assert "Olive Owner" in page and "Fern Facilitator" in page
    assert "Ask to join" in page and 'name="message"' in page
    for inside_word in (
        "Umbrella drill notes",
        "Drill card",
        "Drill practice",
        "Vellichor",
        "Mira Member",
        "3 members",
    ):
        assert inside_word not in page
    assert "feeds/threads" not in page and "library/" not in page and "events/" not in page


def test_a_logged_out_visitor_is_asked_to_log_in_to_ask_to_join(client, restricted):
    page = text(client.get("/c/studio/"))
    assert "Log in to ask to join" in page
    assert 'href="/accounts/login/?next=/c/studio/"' in page


def test_pages_inside_a_restricted_community_are_404_to_an_outsider(client, inside, restricted):
    client.force_login(restricted.outsider)
    for url in (inside.get_absolute_url(), "/c/studio/library/", "/c/studio/events/", "/c/studio/facilitate/"):
        assert client.get(url).status_code == 404, url


def test_asking_to_join_reuses_the_request_flow_and_the_approved_member_reads_threads(client, inside, restricted):
    w = restricted
    client.force_login(w.outsider)
    response = client.post("/c/studio/join/", {"message": "I run night drills."}, follow=True)
    assert "Your request to join has been sent." in text(response)
    request = Membership.objects.get(user=w.outsider, community=w.restricted)
    assert request.state == Membership.State.PENDING
    assert "Your request to join is waiting for a facilitator." in text(client.get("/c/studio/"))
    assert client.get(inside.get_absolute_url()).status_code == 404  # not before approval
    client.force_login(w.facilitator)
    assert "I run night drills." in text(client.get("/c/studio/facilitate/"))
    client.post(f"/c/studio/members/{request.pk}/approve/")
    client.force_login(w.outsider)
    assert "Umbrella drill notes" in text(client.get("/c/studio/"))
    assert client.get(inside.get_absolute_url()).status_code == 200


def test_a_pending_requester_may_withdraw_from_the_front_page(client, restricted):
    client.force_login(restricted.pending)
    response = client.post("/c/studio/leave/", follow=True)
    assert "Your request is withdrawn." in text(response)
    assert not Membership.objects.filter(user=restricted.pending, community=restricted.restricted).exists() or (
        Membership.objects.get(user=restricted.pending, community=restricted.restricted).state
        != Membership.State.PENDING
    )


# --- Sitemap -------------------------------------------------------------------------------------


def test_the_sitemap_lists_the_restricted_front_page_and_nothing_inside(client, inside):
    discussions.start_thread(inside.author, Community.objects.get(slug="commons"), title="Open one", body="Hi")
    communities = client.get("/sitemap-communities.xml").content.decode()
    assert "/c/studio/</loc>" in communities and "/c/commons/</loc>" in communities
    assert "/c/circle/" not in communities
    threads = client.get("/sitemap-threads.xml").content.decode()
    resources = client.get("/sitemap-resources.xml").content.decode()
    assert "/c/commons/t/" in threads
    assert "/c/studio/" not in threads and "/c/studio/" not in resources


# --- Becoming more open: confirmed, audited ---------------------------------------------------------


def confirmation(client, url: str, data: dict) -> tuple[str, dict]:
    page = client.post(url, data).content.decode()
    hidden = dict(re.findall(r'<input type="hidden" name="(confirm_visibility|exposure)" value="([^"]*)">', page))
    return unescape(page), {**data, **hidden}


def test_private_to_restricted_lists_what_everyone_sees_and_what_stays_for_members(client, world):
    thread = discussions.start_thread(world.member, world.private, title="Circle case", body="Quiet.")
    discussions.reply(world.facilitator, thread, "Noted.")
    factories.resource(world.member, world.private, kind="file", title="Chart", file=("c.pdf", b"%PDF-1.4\n%%EOF"))
    client.force_login(world.owner)
    page, data = confirmation(
        client, "/c/circle/edit/", form_data(world.private, visibility="restricted", join_policy="approval")
    )
    assert "Make Zebra Quince Circle restricted?" in page
    assert "What becomes visible to everyone" in page and "What stays for members only" in page
    counts = dict(re.findall(r"<h3>([A-Za-z ]+): (\d+)</h3>", page))
    assert counts["Facilitators named on its front page"] == "2"
    assert (counts["Threads"], counts["Replies"], counts["Resources"], counts["Files"]) == ("1", "1", "1", "1")
    assert Community.objects.get(pk=world.private.pk).is_private  # nothing changed yet
    response = client.post("/c/circle/edit/", data)
    assert response.status_code == 302
    stored = Community.objects.get(pk=world.private.pk)
    assert (stored.visibility, stored.join_policy) == ("restricted", "approval")
    entry = AuditEntry.objects.get(community=stored, action="community.visibility")
    assert entry.actor == world.owner
    assert entry.detail.startswith("private → restricted: to everyone: name, domain statement and 2 facilitators")
    assert "members only: 1 threads, 1 replies, 1 resources, 1 files" in entry.detail


def test_restricted_to_open_lists_what_anyone_will_read(client, inside, restricted):
    client.force_login(restricted.owner)
    page, data = confirmation(client, "/c/studio/edit/", form_data(restricted.restricted, visibility="open"))
    assert "Make Kestrel Lattice Studio open?" in page and "What becomes visible to anyone" in page
    assert "Umbrella drill notes" in page and "Drill card" in page and "Drill practice" in page
    assert client.post("/c/studio/edit/", data).status_code == 302
    entry = AuditEntry.objects.get(community=restricted.restricted, action="community.visibility")
    assert entry.detail.startswith("restricted → open: to everyone: 1 threads, 1 replies, 1 resources, 1 files")
    client.logout()
    assert "Umbrella drill notes" in text(client.get("/c/studio/"))


def test_a_facilitator_may_not_make_it_more_open(client, restricted):
    client.force_login(restricted.facilitator)
    response = client.post("/c/studio/edit/", form_data(restricted.restricted, visibility="open"))
    assert response.status_code == 403
    assert Community.objects.get(pk=restricted.restricted.pk).is_restricted


def test_moving_a_thread_into_a_more_open_community_is_confirmed_and_audited(client, restricted):
    w = restricted
    thread = discussions.start_thread(w.member, w.private, title="Circle secret", body="Only us.")
    discussions.reply(w.facilitator, thread, "Yes.")
    discussions.reply(w.owner, thread, "Agreed.")
    client.force_login(w.owner)
    url = f"/c/circle/t/{thread.pk}/moderate/"
    response = client.post(url, {"action": "move", "community": w.public.pk})
    page = text(response)
    assert response.status_code == 200
    assert "Move “Circle secret” to Ward Commons?" in page
    assert "anyone, without an account" in page
    counts = dict(re.findall(r"<h3>([A-Za-z ]+): (\d+)</h3>", page))
    assert counts["Replies"] == "2" and counts["People named"] == "3"
    assert Thread.objects.get(pk=thread.pk).community_id == w.private.pk  # not yet
    data = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', response.content.decode()))
    assert client.post(url, data).status_code == 302
    assert Thread.objects.get(pk=thread.pk).community_id == w.public.pk
    entry = AuditEntry.objects.get(community=w.private, action="thread.move")
    assert "now readable by anyone, without an account: 2 replies" in entry.detail


def test_moving_a_thread_into_a_restricted_community_names_its_members(client, restricted):
    w = restricted
    thread = discussions.start_thread(w.member, w.private, title="Circle case two", body="Only us.")
    client.force_login(w.owner)
    response = client.post(f"/c/circle/t/{thread.pk}/moderate/", {"action": "move", "community": w.restricted.pk})
    assert "the 3 members of Kestrel Lattice Studio" in text(response)


def test_moving_a_thread_into_a_more_closed_community_needs_no_confirmation(client, restricted):
    w = restricted
    thread = discussions.start_thread(w.member, w.public, title="Open case", body="Hello.")
    client.force_login(w.owner)
    response = client.post(f"/c/commons/t/{thread.pk}/moderate/", {"action": "move", "community": w.restricted.pk})
    assert response.status_code == 302
    assert Thread.objects.get(pk=thread.pk).community_id == w.restricted.pk


# --- The data migration ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_migration_makes_public_open_and_private_on_request_invitation_only():
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate([("communities", "0006_alter_activity_kind")])
    old = MigrationExecutor(connection).loader.project_state([("communities", "0006_alter_activity_kind")]).apps
    try:
        Old = old.get_model("communities", "Community")
        Old.objects.create(name="A", slug="a", domain="A.", visibility="public", join_policy="approval")
        Old.objects.create(name="B", slug="b", domain="B.", visibility="private", join_policy="approval")
        Old.objects.create(name="C", slug="c", domain="C.", visibility="private", join_policy="invite")
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(latest)
    rows = dict(Community.objects.values_list("slug", "visibility"))
    policies = dict(Community.objects.values_list("slug", "join_policy"))
    assert rows == {"a": "open", "b": "private", "c": "private"}
    assert policies == {"a": "approval", "b": "invite", "c": "invite"}


def test_an_export_made_before_graded_visibility_restores_as_open_or_invitation_only():
    from portability.community import _access

    assert _access("public", "approval") == {"visibility": "open", "join_policy": "approval"}
    assert _access("private", "approval") == {"visibility": "private", "join_policy": "invite"}
    assert _access("restricted", "approval") == {"visibility": "restricted", "join_policy": "approval"}
