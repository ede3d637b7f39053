"""Deleting an account: the person goes, what they wrote stays as "Former member".

The user row is kept, anonymized, rather than deleted: posts, reactions and
resources keep their place (helpful counts stay true, reply trees intact)
while everything that identifies or reaches the person is removed. Login
becomes impossible (inactive, unusable password, no email addresses), so
every session ends too: Django checks a session's password hash on each
request, and the session rows are deleted anyway.

Resources they shared stay in the libraries as community property,
attributed to "Former member"; the confirmation page says so. Value notes and
report-backs stay as their posts do; a commitment loses its private note and
is never asked about again.
"""

from __future__ import annotations

import logging
import uuid
from importlib import import_module

from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from bookmarks.models import Bookmark
from communities import policy
from communities.models import AuditEntry, Community, Membership
from core import pagecache
from core.models import Draft, OutboundEmail, PostedDraft
from core.refusals import Refused
from digests.models import DigestRun
from discussions.models import ReadState, ThreadWatch
from events.models import RSVP, CalendarToken, Event
from notifications.models import Notification
from practice.models import Commitment

log = logging.getLogger(__name__)
State = Membership.State


class DeletionError(Refused):
    """The account can't be deleted yet; the message tells the person what to do first."""


def communities_blocking_deletion(user: User) -> list[Community]:
    """Communities where the person is the last owner: someone must take over first."""
    owned = Membership.objects.filter(user=user, role=Membership.Role.OWNER, state=State.ACTIVE).select_related(
        "community"
    )
    return [m.community for m in owned if policy.is_last_owner(m)]


@transaction.atomic
def delete_account(user: User) -> User:
    """Anonymize the account in one transaction; raises DeletionError for a last owner."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.deleted_at is not None:
        return user
    # Lock the communities they own, as leaving does: two owners deleting at once
    # take turns, so the second sees that the first has gone and is refused.
    owned = Membership.objects.filter(user=user, role=Membership.Role.OWNER, state=State.ACTIVE)
    list(Community.objects.select_for_update().filter(pk__in=owned.values("community_id")).order_by("pk"))
    blocking = communities_blocking_deletion(user)
    if blocking:
        names = ", ".join(c.name for c in blocking)
        raise DeletionError(
            f"You are the last owner of {names}. Make someone else an owner there before you delete your account."
        )
    old_email = user.email
    _end_memberships(user)
    _remove_personal_rows(user, old_email)
    placeholder = f"deleted-{uuid.uuid4().hex[:16]}"
    user.username, user.email = placeholder, f"{placeholder}@deleted.invalid"
    user.first_name = user.last_name = user.display_name = user.bio = ""
    user.is_active = user.is_staff = user.is_superuser = False
    user.email_paused, user.email_notifications = True, []
    user.deleted_at = timezone.now()
    user.set_unusable_password()
    user.save()
    user.groups.clear()
    user.user_permissions.clear()
    # Cached anonymous pages still carry the old name: start them afresh.
    pagecache.touched_everything()
    log.info("account %s deleted", user.pk)
    return user


def _end_memberships(user: User) -> None:
    """Leave every community (counters and an audit entry in each), like pressing "Leave"."""
    memberships = list(
        Membership.objects.select_for_update()
        .filter(user=user)
        .exclude(state__in=[State.LEFT, State.BANNED])
        .order_by("community_id")
    )
    now = timezone.now()
    for membership in memberships:
        if membership.state == State.ACTIVE:
            Community.objects.filter(pk=membership.community_id).update(member_count=F("member_count") - 1)
    Membership.objects.filter(pk__in=[m.pk for m in memberships]).update(
        state=State.LEFT, role=Membership.Role.MEMBER, left_at=now, digest_cadence="", watch_level="", updated_at=now
    )
    community_ids = set(Membership.objects.filter(user=user).values_list("community_id", flat=True))
    AuditEntry.objects.bulk_create(
        [
            AuditEntry(community_id=cid, actor=user, target_user=user, action="account.delete", created_at=now)
            for cid in sorted(community_ids)
        ]
    )


def _remove_personal_rows(user: User, email: str) -> None:
    """What only served the person: notifications, bookmarks, drafts, read markers, watching levels, tokens,
    sessions, queued mail."""
    Notification.objects.filter(user=user).delete()
    # Their join requests ended with their memberships: facilitators are no longer asked.
    Notification.objects.filter(actor=user, kind=Notification.Kind.JOIN_REQUEST).delete()
    Bookmark.objects.filter(user=user).delete()
    Draft.objects.filter(user=user).delete()
    PostedDraft.objects.filter(user=user).delete()
    ReadState.objects.filter(user=user).delete()
    ThreadWatch.objects.filter(user=user).delete()
    CalendarToken.objects.filter(user=user).delete()
    DigestRun.objects.filter(user=user).delete()
    # Upcoming events lose the RSVP (no reminder to nobody); past attendance stays counted.
    RSVP.objects.filter(user=user, event__ends_at__gt=timezone.now()).delete()
    # Nor do they host upcoming events any more (a chat's questions are posted as a host).
    Event.hosts.through.objects.filter(user=user, event__ends_at__gt=timezone.now()).delete()
    # "I'll try this": the private note goes and nobody asks them again. What they reported back,
    # and their value notes, stay like their posts, under "Former member".
    Commitment.objects.filter(user=user).update(note="", ask_due_at=None)
    # Mail not yet sent is cancelled; the outbox keeps no copy addressed to them.
    OutboundEmail.objects.filter(to__iexact=email).delete()
    EmailAddress.objects.filter(user=user).delete()
    SocialAccount.objects.filter(user=user).delete()
    _delete_sessions(user)


def _delete_sessions(user: User) -> None:
    # Database sessions store the user id inside the encoded payload, so each
    # live session is decoded once; the table holds only unexpired sessions.
    key = str(user.pk)
    doomed = [
        s.session_key
        for s in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if s.get_decoded().get("_auth_user_id") == key
    ]
    # Through the session engine, so that a cached copy goes with the row.
    store = import_module(settings.SESSION_ENGINE).SessionStore
    for session_key in doomed:
        store(session_key).delete()
