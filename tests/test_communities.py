"""Communities and membership flows through the HTTP layer: join, request, approve, invite, leave, roles."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.core import signing
from django.test import Client
from django.utils import timezone

from communities import services
from communities.models import AuditEntry, Community, Invitation, Membership
from core.models import OutboundEmail

pytestmark = pytest.mark.django_db
State, Role = Membership.State, Membership.Role


def members(community) -> int:
    community.refresh_from_db()
    return community.member_count


def membership(user, community) -> Membership:
    return Membership.objects.get(user=user, community=community)


def test_directory_lists_public_communities_with_domain_and_counts(client, world):
    html = client.get("/c/").content.decode()
    assert "Ward Commons" in html and "Getting better at ward rounds." in html
    assert "Rehab Guild" in html
    assert "3 members" in html
    assert "Zebra Quince" not in html and "Elsewhere" not in html


def test_directory_text_filter_matches_name_and_domain(client, world):
    html = client.get("/c/", {"q": "graded activity"}).content.decode()
    assert "Rehab Guild" in html and "Ward Commons" not in html
    html = client.get("/c/", {"q": "xylophone"}).content.decode()
    assert "Zebra" not in html and "No community matches" in html


def test_member_sees_their_private_community_in_the_directory(client, world):
    client.force_login(world.member)
    html = client.get("/c/").content.decode()
    assert "Zebra Quince Circle" in html and "Private" in html
    assert "Elsewhere" not in html


def test_community_page_shows_domain_description_and_facilitators(client, world):
    html = client.get("/c/commons/").content.decode()
    assert "<title>Ward Commons · copsite</title>" in html
    assert "Getting better at ward rounds." in html
    assert "<strong>Ward Commons</strong>" in html  # markdown rendered at save time
    assert "Olive Owner" in html and "Fern Facilitator" in html
    assert "Log in to join" in html


def test_join_an_open_community(client, world):
    client.force_login(world.outsider)
    page = client.get("/c/commons/").content.decode()
    assert "Join this community" in page
    response = client.post("/c/commons/join/", follow=True)
    assert "Welcome to Ward Commons! You are now a member." in response.content.decode()
    assert membership(world.outsider, world.public).state == State.ACTIVE
    assert members(world.public) == 4
    assert AuditEntry.objects.filter(community=world.public, action="member.join").count() == 1


def test_joining_twice_gives_a_clear_message_and_one_membership(client, world):
    client.force_login(world.outsider)
    client.post("/c/commons/join/")
    response = client.post("/c/commons/join/", follow=True)
    assert "You are already a member." in response.content.decode()
    assert Membership.objects.filter(user=world.outsider, community=world.public).count() == 1
    assert members(world.public) == 4


def test_request_to_join_then_facilitator_approves_and_requester_is_emailed(client, world):
    client.force_login(world.outsider)
    page = client.get("/c/guild/").content.decode()
    assert "Ask to join" in page
    response = client.post("/c/guild/join/", {"message": "I run a back class."}, follow=True)
    assert "Your request to join has been sent" in response.content.decode()
    request = membership(world.outsider, world.approval)
    assert request.state == State.PENDING and request.request_message == "I run a back class."
    assert members(world.approval) == 1

    client.force_login(world.owner)
    dashboard = client.get("/c/guild/facilitate/").content.decode()
    assert "Otto Outsider" in dashboard and "I run a back class." in dashboard
    response = client.post(f"/c/guild/members/{request.pk}/approve/", follow=True)
    assert "Otto Outsider&#39;s request is approved" in response.content.decode()
    assert membership(world.outsider, world.approval).state == State.ACTIVE
    assert members(world.approval) == 2
    mail = OutboundEmail.objects.get(to=world.outsider.email, kind="membership.approved")
    assert "Welcome to Rehab Guild" in mail.subject
    assert "http://127.0.0.1:8000/c/guild/" in mail.body_text


def test_approving_an_already_approved_request_says_so(client, world):
    request = membership(world.pending, world.approval)
    client.force_login(world.owner)
    client.post(f"/c/guild/members/{request.pk}/approve/")
    response = client.post(f"/c/guild/members/{request.pk}/approve/", follow=True)
    assert "Pat Pending&#39;s request has already been handled." in response.content.decode()
    assert membership(world.pending, world.approval).state == State.ACTIVE
    assert members(world.approval) == 2
    assert OutboundEmail.objects.filter(to=world.pending.email).count() == 1


def test_declined_request_is_emailed_and_the_person_may_ask_again(client, world):
    request = membership(world.pending, world.approval)
    client.force_login(world.owner)
    client.post(f"/c/guild/members/{request.pk}/decline/")
    assert membership(world.pending, world.approval).state == State.LEFT
    assert OutboundEmail.objects.get(to=world.pending.email).kind == "membership.declined"
    client.force_login(world.pending)
    client.post("/c/guild/join/", {"message": "Trying again"})
    assert membership(world.pending, world.approval).state == State.PENDING


def test_pending_person_can_withdraw(client, world):
    client.force_login(world.pending)
    response = client.post("/c/guild/leave/", follow=True)
    assert "Your request is withdrawn." in response.content.decode()
    assert membership(world.pending, world.approval).state == State.LEFT


def test_invite_only_community_has_no_join_button_and_refuses_a_forged_join(client, world):
    Community.objects.filter(pk=world.private.pk).update(visibility=Community.Visibility.OPEN)
    client.force_login(world.outsider)
    page = client.get("/c/circle/").content.decode()
    assert "Join this community" not in page and "by invitation only" in page
    response = client.post("/c/circle/join/", follow=True)
    assert "This community is open by invitation only." in response.content.decode()
    assert not Membership.objects.filter(user=world.outsider, community=world.private).exists()


def test_banned_person_cannot_rejoin(client, world):
    client.force_login(world.banned)
    response = client.post("/c/commons/join/", follow=True)
    assert "You can&#39;t join this community." in response.content.decode()
    assert membership(world.banned, world.public).state == State.BANNED


def test_member_leaves_and_may_rejoin_an_open_community(client, world):
    client.force_login(world.member)
    response = client.post("/c/commons/leave/", follow=True)
    assert "You have left Ward Commons." in response.content.decode()
    assert members(world.public) == 2
    client.post("/c/commons/join/")
    assert membership(world.member, world.public).state == State.ACTIVE
    assert members(world.public) == 3


def test_last_owner_cannot_leave_or_be_demoted(client, world):
    client.force_login(world.owner)
    response = client.post("/c/commons/leave/", follow=True)
    assert "You are the last owner" in response.content.decode()
    assert membership(world.owner, world.public).state == State.ACTIVE

    client.force_login(world.admin)
    owner = membership(world.owner, world.public)
    response = client.post(f"/c/commons/members/{owner.pk}/role/", {"role": "member"}, follow=True)
    assert "A community needs an owner" in response.content.decode()
    assert membership(world.owner, world.public).role == Role.OWNER


def test_owner_may_leave_once_there_is_a_second_owner(client, world):
    client.force_login(world.owner)
    fern = membership(world.facilitator, world.public)
    client.post(f"/c/commons/members/{fern.pk}/role/", {"role": "owner"})
    assert membership(world.facilitator, world.public).role == Role.OWNER
    client.post("/c/commons/leave/")
    assert membership(world.owner, world.public).state == State.LEFT


def test_facilitator_promotes_a_member_but_cannot_touch_the_owner(client, world):
    client.force_login(world.facilitator)
    mira = membership(world.member, world.public)
    client.post(f"/c/commons/members/{mira.pk}/role/", {"role": "facilitator"})
    assert membership(world.member, world.public).role == Role.FACILITATOR
    owner = membership(world.owner, world.public)
    response = client.post(f"/c/commons/members/{owner.pk}/ban/", {"reason": "Spam"}, follow=True)
    assert "The last owner can&#39;t be removed." in response.content.decode()
    response = client.post(f"/c/commons/members/{mira.pk}/role/", {"role": "owner"}, follow=True)
    assert "You can&#39;t make that change." in response.content.decode()
    assert membership(world.member, world.public).role == Role.FACILITATOR


def test_facilitator_bans_a_member_who_then_cannot_read_the_private_community(client, world):
    client.force_login(world.facilitator)
    mira = membership(world.member, world.private)
    client.post(f"/c/circle/members/{mira.pk}/ban/", {"reason": "Spam"})
    assert membership(world.member, world.private).state == State.BANNED
    assert members(world.private) == 2
    client.force_login(world.member)
    assert client.get("/c/circle/").status_code == 404


def test_unbanned_person_may_rejoin_an_open_community(client, world):
    client.force_login(world.owner)
    bo = membership(world.banned, world.public)
    client.post(f"/c/commons/members/{bo.pk}/unban/")
    client.force_login(world.banned)
    client.post("/c/commons/join/")
    assert membership(world.banned, world.public).state == State.ACTIVE


def test_facilitator_pins_a_members_level(client, world):
    client.force_login(world.facilitator)
    mira = membership(world.member, world.public)
    client.post(f"/c/commons/members/{mira.pk}/level/", {"level": "core"})
    mira.refresh_from_db()
    assert (mira.level, mira.level_pinned) == ("core", True)
    client.post(f"/c/commons/members/{mira.pk}/level/", {"level": ""})
    mira.refresh_from_db()
    assert mira.level_pinned is False
    response = client.post(f"/c/commons/members/{mira.pk}/level/", {"level": "wizard"}, follow=True)
    assert "Choose one of the participation levels." in response.content.decode()


def test_member_actions_on_a_membership_of_another_community_are_refused(client, world):
    client.force_login(world.other_facilitator)
    mira = membership(world.member, world.public)
    response = client.post(f"/c/elsewhere/members/{mira.pk}/ban/", {"reason": "Spam"}, follow=True)
    assert "That person is not in this community." in response.content.decode()
    assert membership(world.member, world.public).state == State.ACTIVE


# --- Invitations ----------------------------------------------------------------


def invite_link(client, world, email: str) -> str:
    client.force_login(world.facilitator)
    response = client.post("/c/circle/facilitate/invite/", {"email": email, "message": "Come share cases"})
    assert response.status_code == 302
    mail = OutboundEmail.objects.get(to=email, kind="membership.invitation")
    assert "Fern Facilitator invites you to Zebra Quince Circle" in mail.subject
    path = re.search(r"https?://[^/\s]+(/invitations/[^/\s]+/)", mail.body_text).group(1)
    client.logout()
    return path


PASSWORD = "quiet harbour lights"


def sign_up_through(client, path: str, email: str, username: str):
    """Open the invitation page and sign up from its "Create an account" link, as a visitor does."""
    page = client.get(path).content.decode()
    assert "You're invited to Zebra Quince Circle" in page
    signup = re.search(r'href="(/accounts/signup/\?[^"]+)"', page).group(1).replace("&amp;", "&")
    assert "email=" in signup  # the invited address, filled in; the visitor may type another
    return client.post(
        signup, {"email": email, "username": username, "password1": PASSWORD, "password2": PASSWORD, "next": path}
    )


def confirmation_link(email: str) -> str:
    mail = OutboundEmail.objects.filter(to=email).exclude(kind="membership.invitation").latest("created_at")
    return re.search(r"https?://[^/\s]+(/accounts/confirm-email/[^/\s]+/)", mail.body_text).group(1)


def test_invitee_without_an_account_joins_only_after_confirming_the_invited_address(client, world):
    path = invite_link(client, world, "newbie@example.org")
    response = sign_up_through(client, path, "newbie@example.org", "newbie")
    # Signing up through the link proves nothing about the address: allauth's
    # verification mail goes to it, and nobody is a member yet.
    assert response.status_code == 302 and response["Location"] == "/accounts/confirm-email/"
    newbie = EmailAddress.objects.get(email="newbie@example.org")
    assert not newbie.verified
    assert not Membership.objects.filter(user=newbie.user, community=world.private).exists()
    assert members(world.private) == 3
    assert Invitation.objects.get(email="newbie@example.org").accepted_at is None
    assert client.get("/c/circle/").status_code == 404
    facilitator = Client()
    facilitator.force_login(world.facilitator)
    dashboard = facilitator.get("/c/circle/facilitate/").content.decode()
    assert "newbie@example.org — signed up, waiting for the address to be confirmed" in dashboard

    link = confirmation_link("newbie@example.org")
    assert "newbie@example.org" in client.get(link).content.decode()
    response = client.post(link, follow=True)
    assert "Welcome to Zebra Quince Circle! You are now a member." in response.content.decode()
    assert response.redirect_chain[-1][0] == "/c/circle/"
    assert EmailAddress.objects.get(email="newbie@example.org").verified
    assert membership(newbie.user, world.private).state == State.ACTIVE
    assert members(world.private) == 4
    assert Invitation.objects.get(email="newbie@example.org").accepted_by == newbie.user
    # Used once only: anyone else holding the link is turned away; the new member is sent to the community.
    response = Client().get(path)
    assert response.status_code == 400 and "already been used" in response.content.decode()
    assert client.get(path)["Location"] == "/c/circle/"


def test_a_forwarded_link_lets_no_one_in_and_the_owners_click_does_not_confirm_a_strangers_account(client, world):
    path = invite_link(client, world, "invitee@example.org")
    stranger = Client()
    sign_up_through(stranger, path, "invitee@example.org", "stranger")
    account = EmailAddress.objects.get(email="invitee@example.org")
    assert account.user.username == "stranger" and not account.verified
    # The stranger can't sign in (the address is not confirmed) and sees no trace of the community.
    stranger.post("/accounts/login/", {"login": "invitee@example.org", "password": PASSWORD})
    assert "_auth_user_id" not in stranger.session
    assert Client().get("/c/circle/").status_code == 404

    # The address's owner follows the mail in their own browser: it confirms nothing for the stranger.
    owner = Client()
    link = confirmation_link("invitee@example.org")
    response = owner.post(link, follow=True)
    html = response.content.decode()
    assert "log in as stranger in this browser" in html
    assert not EmailAddress.objects.get(email="invitee@example.org").verified
    assert not Membership.objects.filter(user=account.user, community=world.private).exists()
    assert Invitation.objects.get(email="invitee@example.org").is_open


def test_the_holder_confirms_from_another_browser_after_signing_in_there(client, world):
    path = invite_link(client, world, "newbie@example.org")
    sign_up_through(client, path, "newbie@example.org", "newbie")
    link = confirmation_link("newbie@example.org")
    phone = Client()
    phone.post(link)
    assert not EmailAddress.objects.get(email="newbie@example.org").verified
    # Signing in with the password puts the phone in allauth's verification step for this account.
    response = phone.post("/accounts/login/", {"login": "newbie@example.org", "password": PASSWORD})
    assert response["Location"] == "/accounts/confirm-email/"
    response = phone.post(link, follow=True)
    assert "Welcome to Zebra Quince Circle! You are now a member." in response.content.decode()
    newbie = EmailAddress.objects.get(email="newbie@example.org")
    assert newbie.verified and membership(newbie.user, world.private).state == State.ACTIVE


def test_the_browser_that_signed_up_confirms_even_after_the_sign_in_step_has_lapsed(client, world):
    path = invite_link(client, world, "newbie@example.org")
    sign_up_through(client, path, "newbie@example.org", "newbie")
    session = client.session
    session.pop("account_login")  # allauth's pending sign-in lasts 15 minutes; the mail may be read later
    session.save()
    client.post(confirmation_link("newbie@example.org"))
    newbie = EmailAddress.objects.get(email="newbie@example.org")
    assert newbie.verified and membership(newbie.user, world.private).state == State.ACTIVE


def test_an_account_whose_invited_address_is_unconfirmed_cannot_accept(client, world, make_user):
    path = invite_link(client, world, "unsure@example.org")
    unsure = make_user("unsure", email="unsure@example.org", verified=False)
    client.force_login(unsure)
    response = client.post(path)
    assert response.status_code == 400 and "This invitation was sent to unsure@example.org" in response.content.decode()
    assert not Membership.objects.filter(user=unsure, community=world.private).exists()


def test_signing_up_through_the_link_with_another_address_holds_nothing(client, world):
    path = invite_link(client, world, "invitee@example.org")
    sign_up_through(client, path, "someone@example.org", "someone")
    assert Invitation.objects.get(email="invitee@example.org").pending_user is None
    client.post(confirmation_link("someone@example.org"))
    assert EmailAddress.objects.get(email="someone@example.org").verified
    assert not Membership.objects.filter(user__username="someone", community=world.private).exists()


def test_existing_user_accepts_an_invitation_after_logging_in(client, world):
    path = invite_link(client, world, world.outsider.email)
    client.force_login(world.outsider)
    client.post(path)
    assert membership(world.outsider, world.private).state == State.ACTIVE


def test_forwarded_invitation_does_not_let_someone_else_in(client, world, make_user):
    path = invite_link(client, world, "invitee@example.org")
    client.force_login(world.outsider)
    response = client.post(path)
    assert response.status_code == 400
    assert "This invitation was sent to invitee@example.org" in response.content.decode()
    assert not Membership.objects.filter(user=world.outsider, community=world.private).exists()


def test_tampered_and_expired_invitations_are_refused_with_a_clear_message(client, world):
    path = invite_link(client, world, world.outsider.email)
    token = path.split("/")[2]
    client.force_login(world.outsider)
    tampered = client.post(f"/invitations/{token[:-2]}xx/")
    assert tampered.status_code == 400 and "not valid" in tampered.content.decode()
    forged = client.post(f"/invitations/{signing.dumps(999, salt='other')}/")
    assert forged.status_code == 400

    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    expired = client.post(path)
    assert expired.status_code == 400 and "expired" in expired.content.decode()
    assert not Membership.objects.filter(user=world.outsider, community=world.private).exists()


def test_invitation_form_rejects_bad_input_and_keeps_it(client, world):
    client.force_login(world.facilitator)
    response = client.post("/c/circle/facilitate/invite/", {"email": "not an email", "message": "Hello <b>there</b>"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "Enter a valid email address." in html
    assert 'value="not an email"' in html and "Hello &lt;b&gt;there&lt;/b&gt;" in html
    response = client.post("/c/circle/facilitate/invite/", {"email": world.member.email})
    assert "is already a member" in response.content.decode()
    assert not Invitation.objects.exists()


def test_members_cannot_invite(client, world):
    client.force_login(world.member)
    response = client.post("/c/circle/facilitate/invite/", {"email": "x@example.org"})
    assert response.status_code == 403
    assert not Invitation.objects.exists()


# --- Creating and editing communities ----------------------------------------------


def test_site_admin_creates_a_community_and_becomes_owner(client, world):
    client.force_login(world.admin)
    data = {
        "name": "Night Shift Nurses",
        "slug": "night-shift",
        "domain": "Staying safe and sharp on nights.",
        "description": "Say hi! <script>alert(1)</script>",
        "visibility": "open",
        "join_policy": "open",
        "default_cadence": "weekly",
    }
    response = client.post("/c/new/", data)
    assert response.status_code == 302 and response["Location"] == "/c/night-shift/"
    community = Community.objects.get(slug="night-shift")
    assert membership(world.admin, community).role == Role.OWNER
    assert community.member_count == 1
    assert "<script>" not in community.description_html


def test_community_form_errors_keep_input(client, world):
    client.force_login(world.admin)
    response = client.post(
        "/c/new/",
        {
            "name": "Dup",
            "slug": "commons",
            "domain": "",
            "visibility": "open",
            "join_policy": "open",
            "default_cadence": "weekly",
        },
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Community with this Slug already exists." in html
    assert "This field is required." in html
    assert 'value="Dup"' in html
    response = client.post(
        "/c/new/",
        {
            "name": "X",
            "slug": "new",
            "domain": "d",
            "visibility": "open",
            "join_policy": "open",
            "default_cadence": "weekly",
        },
    )
    assert "That address is reserved" in response.content.decode()


def test_only_site_admins_create_communities(client, world):
    client.force_login(world.owner)
    assert client.get("/c/new/").status_code == 404


def test_facilitator_edits_the_domain_statement(client, world):
    client.force_login(world.facilitator)
    form = client.get("/c/commons/edit/")
    assert form.status_code == 200
    data = {
        "name": "Ward Commons",
        "slug": "commons",
        "domain": "Better ward rounds, together.",
        "description": "New *text*",
        "visibility": "open",
        "join_policy": "open",
        "default_cadence": "daily",
    }
    client.post("/c/commons/edit/", data)
    world.public.refresh_from_db()
    assert world.public.domain == "Better ward rounds, together."
    assert world.public.description_html == "<p>New <em>text</em></p>"
    client.force_login(world.member)
    assert client.get("/c/commons/edit/").status_code == 403


def test_private_name_is_not_in_a_404(client, world):
    client.force_login(world.outsider)
    response = client.get("/c/circle/")
    assert response.status_code == 404
    for secret in (b"Zebra", b"Xylophone", b"circle"):
        assert secret not in response.content


def test_services_refuse_a_second_concurrent_style_join(world):
    services.join(world.outsider, world.public)
    with pytest.raises(services.MembershipError):
        services.join(world.outsider, world.public)
    assert Membership.objects.filter(user=world.outsider, community=world.public).count() == 1


def test_the_address_help_shows_a_real_address_not_a_pattern(client, world):
    # "/c/<slug>/" was drawn as HTML: the browser read <slug> as a tag and showed "/c//".
    client.force_login(world.admin)
    page = client.get("/c/new/").content.decode()
    assert "The community&#39;s address, such as /c/acute-pain/. Lower-case letters, digits and hyphens." in page
    assert "/c//" not in page and "/c/<" not in page
    page = client.get("/c/commons/edit/").content.decode()
    assert "The community&#39;s address: /c/commons/. Lower-case letters, digits and hyphens." in page
    # A rejected change still names the address the community has.
    page = client.post("/c/commons/edit/", {"name": "Ward Commons", "slug": "New Address!"}).content.decode()
    assert "/c/commons/." in page and "/c/New Address!/" not in page
