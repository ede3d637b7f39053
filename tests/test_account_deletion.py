"""Deleting an account: confirmation, anonymization, "Former member" everywhere, sign-up again."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.urls import reverse

from accounts.models import FORMER_MEMBER, User
from communities.models import AuditEntry, Community, Membership
from core.models import OutboundEmail
from discussions import services
from discussions.models import Post, ReadState, Thread
from events.models import CalendarToken
from notifications.models import Notification
from resources.models import Resource
from tests import factories

DELETE = reverse("portability:delete-account")
PASSWORD = "correct horse battery"


def delete(client, user, *, password=PASSWORD, username=None):
    client.force_login(user)
    return client.post(DELETE, {"password": password, "confirm_username": username or user.username})


def test_wrong_password_keeps_the_form_with_an_error_and_the_account(client, world):
    response = delete(client, world.member, password="not my password")
    assert response.status_code == 200
    page = response.content.decode()
    assert "That is not your password." in page
    assert 'value="mira"' in page  # the typed confirmation is kept
    world.member.refresh_from_db()
    assert world.member.is_active and world.member.deleted_at is None


def test_mistyped_username_is_refused(client, world):
    response = delete(client, world.member, username="Mira")
    assert "Type your username exactly as shown to confirm." in response.content.decode()
    assert User.objects.get(pk=world.member.pk).deleted_at is None


def test_deletion_needs_a_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    response = delete(client, world.member)
    assert response.status_code == 403
    assert User.objects.get(pk=world.member.pk).deleted_at is None


def test_anonymous_visitor_is_sent_to_log_in(client, db):
    response = client.get(DELETE)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_last_owner_must_hand_over_first(client, world):
    response = delete(client, world.owner)
    page = response.content.decode()
    assert "You are the last owner of" in page and "Ward Commons" in page
    assert User.objects.get(pk=world.owner.pk).deleted_at is None
    assert Membership.objects.get(user=world.owner, community=world.public).role == Membership.Role.OWNER


def test_deleted_member_is_anonymized_and_their_posts_stay_as_former_member(client, world, conversation):
    member = world.member
    services.reply(world.facilitator, conversation.thread, "@mira have you tried it?")
    assert Notification.objects.filter(user=member).exists()
    services.mark_read(member, conversation.thread)
    CalendarToken.objects.create(user=member, token="t" * 40)
    OutboundEmail.objects.create(to=member.email, subject="Digest", body_text="x")
    members_before = Community.objects.get(pk=world.public.pk).member_count

    response = delete(client, member)
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session

    member.refresh_from_db()
    assert member.deleted_at is not None and not member.is_active and not member.has_usable_password()
    assert "mira" not in member.username and "example.org" not in member.email
    assert member.display_name == "" and member.bio == ""
    assert member.name == FORMER_MEMBER
    assert not EmailAddress.objects.filter(user=member).exists()
    assert not Notification.objects.filter(user=member).exists()
    assert not ReadState.objects.filter(user=member).exists()
    assert not CalendarToken.objects.filter(user=member).exists()
    assert not OutboundEmail.objects.filter(to="mira@example.org").exists()
    assert not Membership.objects.filter(user=member, state=Membership.State.ACTIVE).exists()
    assert Community.objects.get(pk=world.public.pk).member_count == members_before - 1
    assert AuditEntry.objects.filter(community=world.public, action="account.delete").exists()
    # The posts are still there, attributed to the kept row.
    assert Post.objects.filter(author=member).count() == 2
    assert Thread.objects.get(pk=conversation.thread.pk).author_id == member.pk


def test_after_deletion_thread_page_search_and_profile_show_no_trace_of_the_name(client, world, conversation):
    delete(client, world.member)
    client.logout()
    thread = client.get(conversation.thread.get_absolute_url()).content.decode()
    assert FORMER_MEMBER in thread
    assert "Mira Member" not in thread
    assert "/u/mira/" not in thread
    assert "PAINAD" in thread  # the text stays
    results = client.get("/search/", {"q": "PAINAD"}).content.decode()
    assert "How do you assess pain in delirium?" in results and "Mira Member" not in results
    assert client.get("/u/mira/").status_code == 404


def test_cached_anonymous_thread_page_shows_former_member_after_deletion(
    client, world, conversation, django_capture_on_commit_callbacks
):
    url = conversation.thread.get_absolute_url()
    Client().get(url)
    second = Client().get(url)
    assert second["X-Page-Cache"] == "hit" and "Mira Member" in second.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        delete(client, world.member)
    page = Client().get(url).content.decode()
    assert "Mira Member" not in page and FORMER_MEMBER in page


def test_deleted_account_cannot_log_in_and_the_address_can_sign_up_again(client, world):
    delete(client, world.member)
    client.logout()
    response = client.post("/accounts/login/", {"login": "mira@example.org", "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    assert response.status_code == 200
    signup = client.post(
        "/accounts/signup/",
        {
            "email": "mira@example.org",
            "username": "mira",
            "password1": "a slow river of tea",
            "password2": "a slow river of tea",
        },
    )
    assert signup.status_code == 302
    fresh = User.objects.get(username="mira")
    assert fresh.pk != world.member.pk and fresh.email == "mira@example.org"
    assert not Post.objects.filter(author=fresh).exists()


def test_resources_stay_attributed_to_former_member(client, world):
    resource = factories.resource(
        world.member, world.public, kind="link", title="Abbey scale card", url="https://example.org/abbey"
    )
    delete(client, world.member)
    client.logout()
    page = client.get(resource.get_absolute_url()).content.decode()
    assert "Added by " + FORMER_MEMBER in page and "Mira" not in page
    assert Resource.objects.get(pk=resource.pk).removed_at is None


def test_other_sessions_of_the_person_end(client, world):
    elsewhere = Client()
    elsewhere.force_login(world.member)
    assert elsewhere.get(reverse("portability:your-data")).status_code == 200
    delete(client, world.member)
    response = elsewhere.get(reverse("portability:your-data"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("path", ["portability:your-data", "portability:delete-account"])
def test_settings_pages_render_for_the_person(client, world, path):
    client.force_login(world.member)
    page = client.get(reverse(path)).content.decode()
    assert "Former member" in page


def test_feed_entries_name_former_member(client, world, conversation):
    delete(client, world.member)
    client.logout()
    feed = client.get("/c/commons/feeds/threads/").content.decode()
    assert "How do you assess pain in delirium?" in feed
    assert f"<name>{FORMER_MEMBER}</name>" in feed and "Mira" not in feed


def test_password_guessing_through_the_delete_form_is_limited(client, world):
    for _ in range(5):
        assert delete(client, world.member, password="guess").status_code == 200
    response = delete(client, world.member, password=PASSWORD)
    assert response.status_code == 429 and response.has_header("Retry-After")
    assert User.objects.get(pk=world.member.pk).deleted_at is None


def test_a_host_of_an_upcoming_event_stops_hosting_and_rsvps_to_it_go(client, world):
    from datetime import timedelta

    from events import services as events
    from events.models import RSVP

    event = factories.event(
        world.facilitator, world.public, title="Chat", starts=timedelta(days=3), hosts=[world.facilitator, world.member]
    )
    events.rsvp(world.member, event, "going")
    delete(client, world.member)
    assert list(event.hosts.all()) == [world.facilitator]
    assert not RSVP.objects.filter(event=event).exists()


def test_a_pending_join_request_no_longer_asks_the_facilitators_once_the_account_is_gone(client, world):
    from communities import services as communities

    communities.join(world.outsider, world.approval, "Please let me in")
    assert Notification.objects.filter(user=world.owner, kind="join_request").exists()
    delete(client, world.outsider)
    assert not Notification.objects.filter(user=world.owner, kind="join_request").exists()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_owners_deleting_at_once_leave_the_community_an_owner(make_user):
    from communities import services as community_services
    from portability.deletion import DeletionError, delete_account
    from tests.concurrency import run_together

    first, second = make_user("una"), make_user("ula")
    community = community_services.create_community(first, name="Pair", slug="pair", domain="Two owners.")
    factories.membership(second, community, role=Membership.Role.OWNER)
    results = run_together(lambda: delete_account(first), lambda: delete_account(second))
    assert sum(isinstance(r, DeletionError) for r in results) == 1, results
    owners = Membership.objects.filter(community=community, role=Membership.Role.OWNER, state="active")
    assert owners.count() == 1


# --- The practice loop and value notes ---------------------------------------------------------


def test_deleting_clears_commitment_notes_stops_the_asks_and_keeps_value_notes_as_former_member(client, world):
    from datetime import timedelta

    from django.utils import timezone

    from practice import services as practice
    from practice.models import Commitment, ReportBack
    from value import services as value
    from value.items import Item
    from value.models import ValueNote

    trial = factories.resource(
        world.owner, world.public, kind="research", title="Hourly charting", try_this="Chart one patient hourly."
    )
    asked_later = practice.commit(world.member, trial, note="only on quiet nights")
    trial.refresh_from_db()
    answered = factories.resource(
        world.owner, world.public, kind="research", title="Night lights", try_this="Dim the lights at 10."
    )
    done = practice.commit(world.member, answered, note="ward 4 only")
    practice.report_back(world.member, done, outcome="helped", story="Patients slept longer.")
    value.add_note(world.member, Item(world.public, resource=trial), cycle="applied", text="I chart hourly now.")

    assert delete(client, world.member).status_code == 302
    assert set(Commitment.objects.filter(user=world.member).values_list("note", flat=True)) == {""}
    assert Commitment.objects.get(pk=asked_later.pk).ask_due_at is None
    assert practice.ask_due(timezone.now() + timedelta(days=60)) == 0
    assert not Notification.objects.filter(user=world.member).exists()
    # What they reported and their value note stay, like their posts, as "Former member"'s.
    assert ReportBack.objects.get(commitment=done).story == "Patients slept longer."
    assert ValueNote.objects.filter(author=world.member).count() == 1
    client.force_login(world.facilitator)
    page = client.get(trial.get_absolute_url()).content.decode()
    assert "I chart hourly now." in page and f"{FORMER_MEMBER}, " in page and "Mira" not in page
