"""Writes for communities and membership: one transaction each, with audit and email.

Every membership change first locks the community row, so two requests for
the same community (two facilitators approving at once, a double-clicked
"Join") run one after the other and see each other's result. Counters
change with ``F()`` in the same transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import User
from communities import audit, policy, queries, signals, welcome
from communities.models import (
    RESERVED_SLUGS,
    Ban,
    Community,
    CommunityRequest,
    Invitation,
    MemberExpertise,
    Membership,
    Subgroup,
    SubgroupMembership,
    WatchLevel,
    access_refusal,
)
from core import pagecache
from core.mail import one_line, queue_templated_email
from core.markup import RENDER_VERSION, render_markdown
from core.refusals import Refused

Role = Membership.Role
State = Membership.State
INVITATION_SALT = "communities.invitation"


class MembershipError(Refused):
    """A membership action that can't happen; the message is shown to the person."""


class InvitationUsed(MembershipError):
    """The link's invitation was accepted already; ``invitation`` says by whom."""

    def __init__(self, message: str, invitation: Invitation) -> None:
        super().__init__(message)
        self.invitation = invitation


def _lock(community: Community) -> Community:
    return Community.objects.select_for_update().get(pk=community.pk)


def _adjust_member_count(community: Community, delta: int) -> None:
    Community.objects.filter(pk=community.pk).update(member_count=F("member_count") + delta)
    pagecache.touched(community)  # the count shows on its page and in the directory


def _email(to: str, template: str, context: dict[str, Any], kind: str) -> None:
    queue_templated_email(to=to, template=f"communities/email/{template}", context=context, kind=kind)


# --- Communities -------------------------------------------------------------


@transaction.atomic
def create_community(
    creator: User, *, name: str, slug: str, domain: str, description: str = "", **fields: Any
) -> Community:
    community = Community.objects.create(
        name=name,
        slug=slug,
        domain=domain,
        description=description,
        description_html=render_markdown(description),
        welcome_html=render_markdown(fields.get("welcome", "")),
        render_version=RENDER_VERSION,
        created_by=creator,
        member_count=1,
        last_activity_at=timezone.now(),
        **fields,
    )
    Membership.objects.create(user=creator, community=community, role=Role.OWNER, joined_at=timezone.now())
    audit.record(community, creator, "community.create", detail=name)
    pagecache.touched(community)
    return community


class CommunityError(Refused):
    """A change to a community's settings that can't happen; the message is shown to the person."""


OWNERS_ONLY = "Only the community's owners can change who may see it, who may join and its address."


@transaction.atomic
def update_community(actor: User, community: Community, *, exposure: str = "", **fields: Any) -> Community:
    """Save changed settings; the owners' settings (``policy.OWNER_SETTINGS``) only from an owner or site admin.

    ``community`` may already carry the new values (the admin's form sets them): the
    row as stored is what the change is measured against. A visibility change gets
    its own audit entry, with ``exposure``: what the person confirmed would become
    visible (or hidden).
    """
    stored = _lock(community)
    if not policy.can_edit_community(actor, stored):
        raise CommunityError("Only the community's facilitators can change its details.")
    before = {name: getattr(stored, name) for name in fields}
    changed = {name: value for name, value in fields.items() if before[name] != value}
    owner_changes = sorted(name for name in changed if name in policy.OWNER_SETTINGS)
    if owner_changes and not policy.can_change_owner_settings(actor, stored):
        raise CommunityError(OWNERS_ONLY)
    after = {"visibility": stored.visibility, "join_policy": stored.join_policy} | {
        name: value for name, value in fields.items() if name in ("visibility", "join_policy")
    }
    if refusal := access_refusal(after["visibility"], after["join_policy"]):
        raise CommunityError(refusal)
    thread_id = changed.get("introductions_thread_id")
    if thread_id is not None and thread_id not in {pk for pk, _ in welcome.thread_choices(stored)}:
        # Only a thread of this very community (a forged id could name another community's).
        raise CommunityError("Choose one of this community's own threads for introductions.")
    for name, value in fields.items():
        setattr(community, name, value)
    community.description_html, community.render_version = render_markdown(community.description), RENDER_VERSION
    community.welcome_html = render_markdown(community.welcome)
    community.save()
    # Its name shows on profiles and in search, its visibility decides what every list holds.
    pagecache.touched_everything()
    audit.record(community, actor, "community.edit", detail=", ".join(sorted(fields)))
    if "visibility" in changed:
        detail = f"{before['visibility']} → {changed['visibility']}" + (f": {exposure}" if exposure else "")
        audit.record(community, actor, "community.visibility", detail=detail)
    for name in owner_changes:
        if name != "visibility":
            audit.record(community, actor, f"community.{name}", detail=f"{before[name]} → {changed[name]}")
    return community


# --- Joining and leaving ----------------------------------------------------------


@transaction.atomic
def join(user: User, community: Community, message: str = "") -> Membership:
    """Join an open community, or ask to join an approval one.

    Raises MembershipError with the reason when the person can't.
    """
    community = _lock(community)
    membership = Membership.objects.filter(user=user, community=community).first()
    policy.remember_membership(user, community, membership)
    reason = policy.join_blocked_reason(user, community)
    if reason:
        raise MembershipError(reason)
    now = timezone.now()
    if community.join_policy == Community.JoinPolicy.OPEN:
        state, joined_at, requested_at = State.ACTIVE, now, None
    else:
        state, joined_at, requested_at = State.PENDING, None, now
    if membership is None:
        try:
            with transaction.atomic():
                membership = Membership.objects.create(
                    user=user,
                    community=community,
                    state=state,
                    joined_at=joined_at,
                    requested_at=requested_at,
                    request_message=message[:500],
                )
        except IntegrityError:
            # A concurrent request won (only possible where the lock is a
            # no-op); its row is the one membership.
            raise MembershipError("You are already a member.") from None
    else:
        membership.state, membership.role = state, Role.MEMBER
        membership.joined_at, membership.requested_at = joined_at, requested_at
        membership.request_message, membership.left_at = message[:500], None
        membership.save()
    if state == State.ACTIVE:
        _adjust_member_count(community, +1)
        audit.record(community, user, "member.join", target_user=user)
        _welcome(community, membership)
    else:
        audit.record(community, user, "member.request", target_user=user)
        signals.join_requested.send(Community, community=community, user=user)
    return membership


@transaction.atomic
def leave(user: User, community: Community) -> Membership:
    community = _lock(community)
    membership = Membership.objects.select_for_update().filter(user=user, community=community).first()
    policy.remember_membership(user, community, membership)
    if membership is None or membership.state not in (State.ACTIVE, State.PENDING):
        raise MembershipError("You are not a member of this community.")
    if membership.is_owner and policy.is_last_owner(membership):
        raise MembershipError("You are the last owner: make someone else an owner before you leave.")
    was_active = membership.state == State.ACTIVE
    membership.state, membership.role, membership.left_at = State.LEFT, Role.MEMBER, timezone.now()
    membership.save(update_fields=["state", "role", "left_at", "updated_at"])
    _leave_subgroups(user, community)
    if was_active:
        _adjust_member_count(community, -1)
    else:
        signals.join_request_settled.send(Community, community=community, user=user)
    audit.record(community, user, "member.leave" if was_active else "member.withdraw", target_user=user)
    return membership


def _leave_subgroups(user: User, community: Community) -> None:
    """Leaving or being removed ends subgroup places too: rejoining later starts without them.

    A ban keeps them (the policy already shuts a banned person out), so lifting it gives
    everything back, like the role it replaced.
    """
    SubgroupMembership.objects.filter(user=user, subgroup__community=community).delete()


# --- Facilitators acting on members -------------------------------------------------


def _locked_target(community: Community, membership_id: int) -> tuple[Community, Membership]:
    community = _lock(community)
    target = (
        Membership.objects.select_for_update()
        .select_related("user", "community")
        .filter(pk=membership_id, community=community)
        .first()
    )
    if target is None:
        raise MembershipError("That person is not in this community.")
    return community, target


@transaction.atomic
def decide_request(actor: User, community: Community, membership_id: int, *, approve: bool) -> Membership:
    community, target = _locked_target(community, membership_id)
    if target.state != State.PENDING:
        # Someone else got there first (or the person withdrew).
        raise MembershipError(f"{target.user.name}'s request has already been handled.")
    if not policy.can_decide_request(actor, target):
        raise MembershipError("Only facilitators can decide join requests.")
    if approve:
        target.state, target.joined_at = State.ACTIVE, timezone.now()
        target.save(update_fields=["state", "joined_at", "updated_at"])
        _adjust_member_count(community, +1)
        _welcome(community, target)
    else:
        target.state = State.LEFT
        target.save(update_fields=["state", "updated_at"])
    audit.record(community, actor, "request.approve" if approve else "request.decline", target_user=target.user)
    signals.join_request_settled.send(Community, community=community, user=target.user)
    _email(
        target.user.email,
        "request_approved" if approve else "request_declined",
        {
            "community": community,
            "person": target.user,
            "community_url": settings.SITE_URL + community.get_absolute_url(),
        },
        kind="membership.approved" if approve else "membership.declined",
    )
    return target


@transaction.atomic
def set_role(actor: User, community: Community, membership_id: int, role: str) -> Membership:
    community, target = _locked_target(community, membership_id)
    if target.role == Role.OWNER and role != Role.OWNER and policy.is_last_owner(target):
        raise MembershipError("A community needs an owner: make someone else an owner first.")
    if not policy.can_set_role(actor, target, role):
        raise MembershipError("You can't make that change.")
    old = target.role
    target.role = role
    target.save(update_fields=["role", "updated_at"])
    pagecache.touched(community)  # the facilitators named on its page
    audit.record(community, actor, "member.role", target_user=target.user, detail=f"{old} → {role}")
    return target


@transaction.atomic
def remove_member(
    actor: User,
    community: Community,
    membership_id: int,
    *,
    ban: bool,
    reason: str = "",
    until: datetime | None = None,
) -> Membership:
    """Remove (they may rejoin) or ban (they may not, until ``until`` if given).

    A ban keeps the reason, the end date and the role and state it replaced
    (``Ban``), so lifting it gives them back; the person is told by email.
    """
    community, target = _locked_target(community, membership_id)
    if not (policy.can_ban(actor, target) if ban else policy.can_remove_member(actor, target)):
        if target.role == Role.OWNER and policy.is_last_owner(target):
            raise MembershipError("The last owner can't be removed.")
        raise MembershipError("You can't remove that person.")
    now = timezone.now()
    if ban and until is not None and until <= now:
        raise MembershipError("A ban's end date must be in the future.")
    was_active = target.state == State.ACTIVE
    previous_role, previous_state = target.role, target.state
    target.state = State.BANNED if ban else State.LEFT
    target.role, target.left_at = Role.MEMBER, now
    target.save(update_fields=["state", "role", "left_at", "updated_at"])
    if was_active:
        _adjust_member_count(community, -1)
    elif previous_state == State.PENDING:
        signals.join_request_settled.send(Community, community=community, user=target.user)
    if not ban:
        _leave_subgroups(target.user, community)
        audit.record(community, actor, "member.remove", target_user=target.user)
        return target
    reason = one_line(reason, 500)
    Ban.objects.create(
        community=community,
        membership=target,
        user=target.user,
        banned_by=actor,
        reason=reason,
        until=until,
        created_at=now,
        previous_role=previous_role,
        previous_state=previous_state,
    )
    audit.record(
        community,
        actor,
        "member.ban",
        target_user=target.user,
        detail=audit.ban_detail(reason, until),
    )
    _email(
        target.user.email,
        "banned",
        {
            "community": community,
            "person": target.user,
            "reason": reason,
            "until": until,
            "until_words": audit.day_words(until) if until is not None else "",
        },
        kind="membership.banned",
    )
    return target


def ban_in_force(membership: Membership) -> Ban | None:
    return Ban.objects.filter(membership=membership, lifted_at__isnull=True).first()


def _lift(community: Community, target: Membership, actor: User | None, now: datetime) -> Membership:
    """End ``target``'s ban: the role and state it replaced come back (a plain "left" without a record)."""
    ban = Ban.objects.select_for_update().filter(membership=target, lifted_at__isnull=True).first()
    if ban is not None:
        ban.lifted_at, ban.lifted_by = now, actor
        ban.save(update_fields=["lifted_at", "lifted_by"])
    # A member comes back as they were; someone banned while asking to join may ask again.
    restored_state = State.ACTIVE if ban is not None and ban.previous_state == State.ACTIVE else State.LEFT
    target.state = restored_state
    target.role = ban.previous_role if ban is not None and restored_state == State.ACTIVE else Role.MEMBER
    if restored_state == State.ACTIVE:
        target.left_at = None
    target.save(update_fields=["state", "role", "left_at", "updated_at"])
    if restored_state == State.ACTIVE:
        _adjust_member_count(community, +1)
    if target.role != Role.MEMBER:
        pagecache.touched(community)  # the facilitators named on its page
    if actor is None:
        audit.record(community, None, "member.ban_ended", target_user=target.user)
    else:
        audit.record(community, actor, "member.unban", target_user=target.user)
    return target


@transaction.atomic
def unban(actor: User, community: Community, membership_id: int) -> Membership:
    community, target = _locked_target(community, membership_id)
    ban = ban_in_force(target)
    if not policy.can_unban(actor, target, ban.previous_role if ban is not None else Role.MEMBER):
        raise MembershipError("That person is not banned." if target.state != State.BANNED else NOT_YOURS)
    return _lift(community, target, actor, timezone.now())


NOT_YOURS = "Only an owner can lift the ban of someone who was a facilitator or owner."


def lift_expired_bans(now: datetime | None = None) -> int:
    """Lift every ban whose end date has passed; returns how many were lifted.

    One transaction per ban, each taken under its community's lock and
    checked again there: run twice (a duplicate beat message, a retry) it
    lifts each ban once.
    """
    now = now or timezone.now()
    due = list(
        Ban.objects.filter(lifted_at__isnull=True, until__lte=now).order_by("until").values_list("pk", flat=True)[:500]
    )
    lifted = 0
    for ban_id in due:
        with transaction.atomic():
            ban = Ban.objects.select_related("community").filter(pk=ban_id).first()
            if ban is None:
                continue
            community = _lock(ban.community)
            target = Membership.objects.select_for_update().select_related("user").get(pk=ban.membership_id)
            ban = Ban.objects.select_for_update().get(pk=ban_id)
            if ban.lifted_at is not None or ban.until is None or ban.until > now:
                continue
            if target.state != State.BANNED:  # ended some other way: close the record only
                Ban.objects.filter(pk=ban_id).update(lifted_at=now)
                continue
            _lift(community, target, None, now)
            lifted += 1
    return lifted


@transaction.atomic
def pin_level(actor: User, community: Community, membership_id: int, level: str | None) -> Membership:
    community, target = _locked_target(community, membership_id)
    if not policy.can_manage_members(actor, community) or target.state != State.ACTIVE:
        raise MembershipError("You can't change that member's level.")
    if level is None:
        target.level_pinned = False
    elif level in Membership.Level.values:
        target.level, target.level_pinned = level, True
    else:
        raise MembershipError("Choose one of the participation levels.")
    target.save(update_fields=["level", "level_pinned", "updated_at"])
    audit.record(community, actor, "member.level", target_user=target.user, detail=level or "computed")
    return target


# --- Watching levels ------------------------------------------------------------------


def set_watch_level(user: User, community: Community, level: str) -> Membership:
    """A member chooses how closely to follow ``community`` (a ``WatchLevel``), by hand.

    Until they do, the level follows their role (``Membership.effective_watch_level``):
    facilitators and owners hear of every new thread, so a promotion or demotion
    moves it; once chosen here it stays, whatever their role becomes.
    """
    if level not in WatchLevel.values:
        raise MembershipError("Choose one of the watching levels.")
    refusal = "Only members can choose how closely they follow a community."
    if not policy.can_watch(user, community):
        raise MembershipError(refusal)
    # The row's state checked again in the write: a ban in between leaves nothing set.
    updated = Membership.objects.filter(user=user, community=community, state=State.ACTIVE).update(
        watch_level=level, updated_at=timezone.now()
    )
    if not updated:
        raise MembershipError(refusal)
    membership = Membership.objects.get(user=user, community=community)
    policy.remember_membership(user, community, membership)
    return membership


# --- Invitations ----------------------------------------------------------------


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps(invitation.pk, salt=INVITATION_SALT, compress=True)


def invitation_from_token(token: str) -> Invitation:
    """The open invitation behind a link; MembershipError for tampered, expired or used ones."""
    max_age = timedelta(days=settings.INVITATION_MAX_AGE_DAYS)
    try:
        invitation_id = signing.loads(token, salt=INVITATION_SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise MembershipError("This invitation has expired. Ask the facilitator for a new one.") from None
    except signing.BadSignature:
        raise MembershipError("This invitation link is not valid. Check that you copied all of it.") from None
    invitation = Invitation.objects.select_related("community").filter(pk=invitation_id).first()
    if invitation is None or invitation.revoked_at is not None:
        raise MembershipError("This invitation has been withdrawn.")
    if invitation.accepted_at is not None:
        raise InvitationUsed("This invitation has already been used.", invitation)
    if invitation.expires_at <= timezone.now():
        raise MembershipError("This invitation has expired. Ask the facilitator for a new one.")
    return invitation


@transaction.atomic
def invite(actor: User, community: Community, email: str, message: str = "") -> Invitation:
    if not policy.can_manage_members(actor, community):
        raise MembershipError("Only facilitators can invite people.")
    email = email.strip()
    existing = Membership.objects.filter(community=community, user__email__iexact=email).first()
    if existing is not None and existing.state == State.ACTIVE:
        raise MembershipError(f"{email} is already a member.")
    if existing is not None and existing.state == State.BANNED:
        raise MembershipError(f"{email} is banned from this community: unban them first.")
    invitation = Invitation.objects.create(
        community=community,
        email=email,
        invited_by=actor,
        message=message[:500],
        expires_at=timezone.now() + timedelta(days=settings.INVITATION_MAX_AGE_DAYS),
    )
    url = settings.SITE_URL + reverse("communities:invitation", kwargs={"token": invitation_token(invitation)})
    _email(
        email,
        "invitation",
        {"community": community, "inviter": actor, "message": message, "accept_url": url, "invitation": invitation},
        kind="membership.invitation",
    )
    audit.record(community, actor, "member.invite", detail=email)
    return invitation


@transaction.atomic
def accept_invitation(user: User, invitation: Invitation) -> Membership:
    """``user`` joins through ``invitation``: only with the invited address confirmed on their account.

    The link is not a ticket: it may have been forwarded, or fetched by a
    mail scanner. What lets someone in is the invited address, confirmed by
    the account's holder from the mail sent to it (accounts/adapter.py says
    who may confirm an address). So an existing account accepts from a
    logged-in session whose verified address is the invited one, and a new
    account joins when it confirms that address (``accept_pending_invitations``).
    """
    from allauth.account.models import EmailAddress

    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if not invitation.is_open:
        raise MembershipError("This invitation has already been used or has expired.")
    if not EmailAddress.objects.filter(user=user, email__iexact=invitation.email, verified=True).exists():
        raise MembershipError(
            f"This invitation was sent to {invitation.email}. Log in with the account that uses that address."
        )
    community = _lock(invitation.community)
    membership = Membership.objects.select_for_update().filter(user=user, community=community).first()
    if membership is not None and membership.state == State.BANNED:
        raise MembershipError("You can't join this community.")
    now = timezone.now()
    if membership is None:
        membership = Membership.objects.create(user=user, community=community, joined_at=now)
        _adjust_member_count(community, +1)
        _welcome(community, membership)
    elif membership.state != State.ACTIVE:
        membership.state, membership.role, membership.joined_at = State.ACTIVE, Role.MEMBER, now
        membership.save(update_fields=["state", "role", "joined_at", "updated_at"])
        _adjust_member_count(community, +1)
        _welcome(community, membership)
    invitation.accepted_at, invitation.accepted_by = now, user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    audit.record(community, user, "member.accept_invitation", target_user=user, detail=invitation.email)
    return membership


@transaction.atomic
def await_confirmation(user: User, invitation: Invitation) -> bool:
    """``user`` signed up through ``invitation``'s link: hold the acceptance until they confirm the address.

    Nothing is granted here. The account's address is unverified and allauth
    has mailed a confirmation link to it; ``accept_pending_invitations`` runs
    when that link is followed. A sign-up with another address holds nothing:
    the invitation stays open for the address it was sent to.
    """
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if not invitation.is_open or invitation.email.lower() != (user.email or "").lower():
        return False
    invitation.pending_user = user
    invitation.save(update_fields=["pending_user"])
    return True


def accept_pending_invitations(user: User, email: str) -> list[Membership]:
    """``user`` has just confirmed ``email``: accept the open invitations to it they signed up through.

    One transaction per invitation: a community that refuses (a ban) does
    not undo the others. Returns the memberships that started; refusals are
    left for the person to meet on the invitation page.
    """
    joined = []
    pending = Invitation.objects.filter(pending_user=user, email__iexact=email, accepted_at=None, revoked_at=None)
    for invitation in pending.select_related("community").order_by("pk"):
        try:
            joined.append(accept_invitation(user, invitation))
        except MembershipError:
            continue
    return joined


# --- Subgroups ------------------------------------------------------------------------


class SubgroupError(Refused):
    """A subgroup change that can't happen; the message is shown to the person."""


def _subgroup_slug(community: Community, name: str, exclude: int | None = None) -> str:
    base = slugify(name)[:50] or "subgroup"
    rows = Subgroup.objects.filter(community=community, slug__startswith=base)
    if exclude is not None:
        rows = rows.exclude(pk=exclude)
    taken = set(rows.values_list("slug", flat=True))
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _check_subgroup_name(community: Community, name: str, exclude: int | None = None) -> None:
    same = Subgroup.objects.filter(community=community, name__iexact=name)
    if (same.exclude(pk=exclude) if exclude is not None else same).exists():
        raise SubgroupError(f"This community already has a subgroup called “{name}”.")


@transaction.atomic
def create_subgroup(actor: User, community: Community, *, name: str, description: str = "") -> Subgroup:
    if not policy.can_manage_subgroups(actor, community):
        raise SubgroupError("Only facilitators can create subgroups.")
    _lock(community)  # two facilitators naming the same subgroup at once: one after the other
    name = one_line(name, 60)
    _check_subgroup_name(community, name)
    subgroup = Subgroup.objects.create(
        community=community,
        name=name,
        slug=_subgroup_slug(community, name),
        description=one_line(description, 200),
        created_by=actor,
    )
    audit.record(community, actor, "subgroup.create", detail=f"“{subgroup.name}”")
    return subgroup


@transaction.atomic
def edit_subgroup(actor: User, subgroup: Subgroup, *, name: str, description: str = "") -> Subgroup:
    """Rename it and change its description; its address stays, so links to it keep working."""
    community = subgroup.community
    if not policy.can_manage_subgroups(actor, community):
        raise SubgroupError("Only facilitators can change subgroups.")
    _lock(community)
    name = one_line(name, 60)
    _check_subgroup_name(community, name, exclude=subgroup.pk)
    old = subgroup.name
    subgroup.name, subgroup.description = name, one_line(description, 200)
    subgroup.save(update_fields=["name", "description"])
    detail = f"“{old}” to “{name}”" if old != name else f"“{name}”"
    audit.record(community, actor, "subgroup.edit", detail=detail)
    return subgroup


@transaction.atomic
def delete_subgroup(actor: User, subgroup: Subgroup) -> None:
    """Only an empty one: its threads would otherwise fall open to the whole community."""
    community = subgroup.community
    if not policy.can_manage_subgroups(actor, community):
        raise SubgroupError("Only facilitators can delete subgroups.")
    _lock(community)
    threads = subgroup.threads.count()  # discussions' Thread.subgroup
    if threads:
        raise SubgroupError(
            f"“{subgroup.name}” has {threads} thread{'s' if threads != 1 else ''}. Delete them first: "
            "a subgroup's threads never fall open to the whole community."
        )
    audit.record(community, actor, "subgroup.delete", detail=f"“{subgroup.name}”")
    subgroup.delete()


@transaction.atomic
def add_subgroup_member(actor: User, subgroup: Subgroup, person: User) -> SubgroupMembership:
    community = subgroup.community
    if not policy.can_manage_subgroups(actor, community):
        raise SubgroupError("Only facilitators can add people to subgroups.")
    _lock(community)  # a removal from the community can't slip in between the check and the row
    policy.remember_membership(person, community, Membership.objects.filter(user=person, community=community).first())
    if not policy.can_join_subgroup(person, community):
        raise SubgroupError(f"{person.name} is not an active member of {community.name}.")
    row, created = SubgroupMembership.objects.get_or_create(
        subgroup=subgroup, user=person, defaults={"added_by": actor}
    )
    if not created:
        raise SubgroupError(f"{person.name} is already in “{subgroup.name}”.")
    audit.record(community, actor, "subgroup.add", target_user=person, detail=f"“{subgroup.name}”")
    return row


@transaction.atomic
def remove_subgroup_member(actor: User, subgroup: Subgroup, person: User) -> None:
    community = subgroup.community
    if not policy.can_manage_subgroups(actor, community):
        raise SubgroupError("Only facilitators can remove people from subgroups.")
    deleted, _ = SubgroupMembership.objects.filter(subgroup=subgroup, user=person).delete()
    if not deleted:
        raise SubgroupError(f"{person.name} is not in “{subgroup.name}”.")
    audit.record(community, actor, "subgroup.remove", target_user=person, detail=f"“{subgroup.name}”")


# --- The welcome -----------------------------------------------------------------------


def welcome_url(community: Community) -> str:
    return reverse("communities:welcome", kwargs={"slug": community.slug})


def _welcome(community: Community, membership: Membership) -> None:
    """``membership`` has just become active: show the welcome on their next page of the community,
    and email it, once per membership.

    Called inside the joining transaction, under the community's row lock, so two joins (a
    double click, a retried request, two facilitators approving) run one after the other and
    the second finds ``welcome_sent_at`` set. Leaving keeps the row (and that stamp), so
    rejoining shows the welcome again but mails nothing. The mail is an outbox row written in
    this transaction: a retried send task delivers that one row, never a second mail.
    """
    membership.welcome_due = True
    update: dict[str, Any] = {"welcome_due": True}
    if membership.welcome_sent_at is None and community.welcome_html:
        membership.welcome_sent_at = update["welcome_sent_at"] = timezone.now()
        user = membership.user
        _email(
            user.email,
            "welcome",
            {
                "community": community,
                "person": user,
                "welcome_url": settings.SITE_URL + welcome_url(community),
                "community_url": settings.SITE_URL + community.get_absolute_url(),
            },
            kind="membership.welcome",
        )
    Membership.objects.filter(pk=membership.pk).update(**update)


def welcome_seen(user: User, community: Community) -> None:
    """The member has been shown the welcome: the community page stops showing it on its own."""
    Membership.objects.filter(user=user, community=community, welcome_due=True).update(welcome_due=False)


# --- Requests for new communities -------------------------------------------------------------


class CommunityRequestError(Refused):
    """A request for a new community that can't be made or decided; the message is shown to the person."""


ALREADY_PENDING = "You already have a request waiting for a site admin: you'll get an email when it is decided."


@transaction.atomic
def request_community(
    requester: User, *, name: str, domain: str, why: str, visibility: str, join_policy: str
) -> CommunityRequest:
    """Ask the site admins for a new community; one request may wait per person."""
    if not policy.can_request_community(requester):
        raise CommunityRequestError("Confirm your email address first: the decision is sent to it.")
    if refusal := access_refusal(visibility, join_policy):
        raise CommunityRequestError(refusal)
    # The person's own row, locked: a double-clicked submit waits here and then finds the first.
    User.objects.select_for_update().filter(pk=requester.pk).first()
    if CommunityRequest.objects.filter(requester=requester, state=CommunityRequest.State.PENDING).exists():
        raise CommunityRequestError(ALREADY_PENDING)
    try:
        with transaction.atomic():
            made = CommunityRequest.objects.create(
                requester=requester,
                name=" ".join(name.split()),
                domain=domain,
                why=why,
                visibility=visibility,
                join_policy=join_policy,
            )
    except IntegrityError:
        raise CommunityRequestError(ALREADY_PENDING) from None
    _tell_site_admins(made, requester)
    return made


def _tell_site_admins(made: CommunityRequest, requester: User) -> None:
    """Each site admin is emailed the request (in the outbox, with the request: retried, never lost)."""
    queue_url = settings.SITE_URL + reverse("communities:requests")
    for admin in queries.site_admins_to_tell(exclude=requester.pk or 0):
        _email(
            admin.email,
            "community_request_new",
            {"request": made, "person": admin, "requester": requester, "queue_url": queue_url},
            "community.request_new",
        )


def _locked_request(actor: User, request_id: int) -> CommunityRequest:
    if not policy.can_decide_community_requests(actor):
        raise CommunityRequestError("Only site admins decide requests for new communities.")
    found = CommunityRequest.objects.select_for_update().filter(pk=request_id).first()
    if found is None:
        raise CommunityRequestError("That request does not exist.")
    if found.state != CommunityRequest.State.PENDING:
        raise CommunityRequestError(f"The request for “{found.name}” has already been decided.")
    return found


def free_slug(name: str) -> str:
    """An unused address made from ``name``: "acute-pain", else "acute-pain-2", "acute-pain-3"…"""
    base = slugify(name)[:50].strip("-") or "community"
    slug, n = base, 1
    while slug in RESERVED_SLUGS or queries.slug_taken(slug):
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def approve_community_request(actor: User, request_id: int) -> CommunityRequest:
    """Create the community asked for, owned by the person who asked, and tell them."""
    found = _locked_request(actor, request_id)
    requester = User.objects.get(pk=found.requester_id)
    if not requester.is_active:
        raise CommunityRequestError("The account that asked is no longer active: decline the request.")
    if queries.community_name_taken(found.name):
        raise CommunityRequestError(f"A community named “{found.name}” exists already: decline the request, saying so.")
    try:
        with transaction.atomic():
            community = create_community(
                requester,
                name=found.name,
                slug=free_slug(found.name),
                domain=found.domain,
                visibility=found.visibility,
                join_policy=found.join_policy,
            )
    except IntegrityError:
        # Another approval took the same address a moment ago.
        raise CommunityRequestError("That address was just taken: approve the request again.") from None
    found.state, found.decided_by, found.decided_at = CommunityRequest.State.APPROVED, actor, timezone.now()
    found.community = community
    found.save(update_fields=["state", "decided_by", "decided_at", "community"])
    audit.record(community, actor, "community.request_approve", target_user=requester, detail=found.name)
    _email(
        requester.email,
        "community_request_approved",
        {
            "request": found,
            "community": community,
            "person": requester,
            "community_url": settings.SITE_URL + community.get_absolute_url(),
            "edit_url": settings.SITE_URL + reverse("communities:edit", kwargs={"slug": community.slug}),
        },
        kind="community_request.approved",
    )
    return found


@transaction.atomic
def decline_community_request(actor: User, request_id: int, reason: str) -> CommunityRequest:
    """Decline with a reason, told to the person by email and shown on their request page."""
    reason = one_line(reason, 500)
    if not reason:
        raise CommunityRequestError("Say why the request is declined: the person is told.")
    found = _locked_request(actor, request_id)
    requester = User.objects.get(pk=found.requester_id)
    found.state, found.decided_by, found.decided_at = CommunityRequest.State.DECLINED, actor, timezone.now()
    found.decline_reason = reason
    found.save(update_fields=["state", "decided_by", "decided_at", "decline_reason"])
    _email(
        requester.email,
        "community_request_declined",
        {
            "request": found,
            "person": requester,
            "reason": reason,
            "request_url": settings.SITE_URL + reverse("communities:request"),
        },
        kind="community_request.declined",
    )
    return found


# --- Newcomers: expertise and buddies ---------------------------------------------------


@transaction.atomic
def set_expertise(user: User, community: Community, names: list[str]) -> Membership:
    """A member's self-declared expertise in ``community``: at most ``expertise.MAX_EXPERTISE`` of its tags.

    Stored twice in one transaction: the list on the membership (what the directory
    shows, no extra query) and one row per tag (what it filters by).
    """
    from communities import expertise

    membership = (
        Membership.objects.select_for_update().filter(user=user, community=community, state=State.ACTIVE).first()
    )
    if membership is None or not policy.can_set_expertise(user, community):
        raise MembershipError("Only members of this community can say what they know here.")
    picked, refusal = expertise.clean_choice(names, expertise.vocabulary(community))
    if refusal:
        raise MembershipError(refusal)
    membership.expertise = picked
    membership.save(update_fields=["expertise", "updated_at"])
    MemberExpertise.objects.filter(membership=membership).exclude(name__in=picked).delete()
    MemberExpertise.objects.bulk_create(
        [MemberExpertise(membership=membership, community=community, name=name) for name in picked],
        ignore_conflicts=True,
    )
    return membership


@transaction.atomic
def pair_buddy(actor: User, community: Community, membership_id: int, buddy_username: str) -> Membership:
    """Pair a newcomer (``membership_id``) with a core or active member of the same community; both are told."""
    community, target = _locked_target(community, membership_id)
    if not policy.can_pair_buddies(actor, community):
        raise MembershipError("Buddies are not turned on for this community, or you can't pair members here.")
    buddy = (
        Membership.objects.select_related("user")
        .filter(community=community, user__username__iexact=buddy_username.strip())
        .first()
    )
    if refusal := policy.buddy_refusal(target, buddy):
        raise MembershipError(refusal)
    assert buddy is not None  # buddy_refusal refuses a missing one
    if target.buddy_id == buddy.user_id:
        return target
    target.buddy = buddy.user
    target.save(update_fields=["buddy", "updated_at"])
    audit.record(community, actor, "member.buddy", target_user=target.user, detail=buddy.user.name)
    signals.buddy_paired.send(Community, community=community, newcomer=target.user, buddy=buddy.user, actor=actor)
    pagecache.touched(community)
    return target


@transaction.atomic
def unpair_buddy(actor: User, community: Community, membership_id: int) -> Membership:
    community, target = _locked_target(community, membership_id)
    if not policy.can_manage_members(actor, community):
        raise MembershipError("You can't change that member's buddy.")
    if target.buddy_id is None:
        raise MembershipError(f"{target.user.name} has no buddy.")
    before = User.objects.filter(pk=target.buddy_id).first()
    target.buddy = None
    target.save(update_fields=["buddy", "updated_at"])
    audit.record(
        community,
        actor,
        "member.unbuddy",
        target_user=target.user,
        detail=before.name if before is not None else "",
    )
    pagecache.touched(community)
    return target
