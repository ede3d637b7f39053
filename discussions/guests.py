"""Guest experts: a facilitator asks an outside expert into one thread for a limited time.

The writes, one transaction each, audited. The invitation link is signed (like
communities' invitations) and is not a ticket: a guest accepts from an account whose
verified address is the invited one. Reading and posting are decided in ``policy``
(``is_guest_in``), which compares the place's end with the clock on every request: no
job is needed to end access, and a revoked or expired place is a 404 at once.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from communities import audit, policy
from communities.models import Membership
from core.mail import queue_templated_email
from core.refusals import Refused
from discussions.models import Thread, ThreadGuest

GUEST_SALT = "discussions.guest"
DEFAULT_DAYS = 14
MIN_DAYS, MAX_DAYS = 1, 90


class GuestError(Refused):
    """A guest action that can't happen; the message is shown to the person."""


class GuestAccessEnded(GuestError):
    """The link's place was accepted and has since ended (expired or revoked)."""


def guest_token(place: ThreadGuest) -> str:
    return signing.dumps(place.pk, salt=GUEST_SALT, compress=True)


def guest_url(place: ThreadGuest) -> str:
    return settings.SITE_URL + reverse("discussions:guest", kwargs={"token": guest_token(place)})


def place_from_token(token: str) -> ThreadGuest:
    """The place behind a link, with its thread and community; GuestError says why it no longer opens."""
    try:
        place_id = signing.loads(token, salt=GUEST_SALT)
    except signing.BadSignature:
        raise GuestError("This guest link is not valid. Check that you copied all of it.") from None
    place = ThreadGuest.objects.select_related("thread__community").filter(pk=place_id).first()
    if place is None:
        raise GuestError("This guest link is not valid. Check that you copied all of it.")
    if place.revoked_at is not None:
        raise GuestAccessEnded("Your guest access to this thread has ended: a facilitator withdrew it.")
    if place.expires_at <= timezone.now():
        raise GuestAccessEnded(
            "Your guest access to this thread has ended. Ask the facilitator who invited you if you need more time."
        )
    return place


def _days(days: int) -> timedelta:
    if not MIN_DAYS <= days <= MAX_DAYS:
        raise GuestError(f"Choose between {MIN_DAYS} and {MAX_DAYS} days.")
    return timedelta(days=days)


@transaction.atomic
def invite_guest(
    actor: User, thread: Thread, email: str, *, days: int = DEFAULT_DAYS, message: str = ""
) -> ThreadGuest:
    if not policy.can_invite_guest(actor, thread):
        raise GuestError("Only the community's facilitators can invite guests.")
    email = email.strip()
    community = thread.community
    banned = Membership.objects.filter(community=community, user__email__iexact=email, state=Membership.State.BANNED)
    if banned.exists():
        raise GuestError(f"{email} is banned from this community.")
    place = ThreadGuest.objects.create(
        thread=thread,
        email=email,
        invited_by=actor,
        message=message[:500],
        expires_at=timezone.now() + _days(days),
    )
    queue_templated_email(
        to=email,
        template="discussions/email/guest_invitation",
        context={
            "thread": thread,
            "community": community,
            "inviter": actor,
            "message": message,
            "place": place,
            "accept_url": guest_url(place),
        },
        kind="discussions.guest_invitation",
    )
    audit.record(community, actor, "guest.invite", detail=f"thread “{thread.title}” ({email}, {days} days)")
    return place


@transaction.atomic
def accept_place(user: User, place: ThreadGuest) -> ThreadGuest:
    """``user`` takes up ``place``: only with the invited address verified on their account.

    Asked in again while a place of theirs is still on record: that place takes the later end.
    """
    from allauth.account.models import EmailAddress

    place = ThreadGuest.objects.select_for_update(of=("self",)).select_related("thread__community").get(pk=place.pk)
    if place.accepted_at is not None:
        if place.user_id == user.pk and place.is_active:
            return place
        raise GuestError("This guest link has already been used.")
    if not place.is_open:
        raise GuestAccessEnded("Your guest access to this thread has ended.")
    if not EmailAddress.objects.filter(user=user, email__iexact=place.email, verified=True).exists():
        raise GuestError(f"This invitation was sent to {place.email}. Log in with the account that uses that address.")
    community = place.thread.community
    if Membership.objects.filter(community=community, user=user, state=Membership.State.BANNED).exists():
        raise GuestError("You can't take part in this community.")
    now = timezone.now()
    earlier = ThreadGuest.objects.select_for_update().filter(thread=place.thread, user=user).first()
    if earlier is not None:
        earlier.expires_at = (
            max(earlier.expires_at, place.expires_at) if earlier.revoked_at is None else place.expires_at
        )
        earlier.revoked_at = None
        earlier.save(update_fields=["expires_at", "revoked_at"])
        place.accepted_at = now
        place.save(update_fields=["accepted_at"])
        kept = earlier
    else:
        place.user, place.accepted_at = user, now
        place.save(update_fields=["user", "accepted_at"])
        kept = place
    audit.record(community, user, "guest.accept", target_user=user, detail=f"thread “{place.thread.title}”")
    return kept


def _locked(place: ThreadGuest) -> ThreadGuest:
    """The place's row, locked (only it: the guest and the thread come along unlocked)."""
    rows = ThreadGuest.objects.select_for_update(of=("self",)).select_related("thread__community", "user")
    return rows.get(pk=place.pk)


@transaction.atomic
def revoke_place(actor: User, place: ThreadGuest) -> ThreadGuest:
    place = _locked(place)
    if not policy.can_invite_guest(actor, place.thread):
        raise GuestError("Only the community's facilitators can end a guest's access.")
    if place.revoked_at is not None:
        return place
    place.revoked_at = timezone.now()
    place.save(update_fields=["revoked_at"])
    audit.record(
        place.thread.community,
        actor,
        "guest.revoke",
        target_user=place.user,
        detail=f"thread “{place.thread.title}” ({place.email})",
    )
    return place


@transaction.atomic
def extend_place(actor: User, place: ThreadGuest, days: int) -> ThreadGuest:
    """Give the guest ``days`` more from today (an ended or withdrawn place opens again)."""
    place = _locked(place)
    if not policy.can_invite_guest(actor, place.thread):
        raise GuestError("Only the community's facilitators can extend a guest's access.")
    place.expires_at = timezone.now() + _days(days)
    place.revoked_at = None
    place.save(update_fields=["expires_at", "revoked_at"])
    audit.record(
        place.thread.community,
        actor,
        "guest.extend",
        target_user=place.user,
        detail=f"thread “{place.thread.title}” ({place.email}) by {days} days",
    )
    return place
