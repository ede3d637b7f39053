"""Who may do what. The one place that answers it.

Views, search, feeds, digests and notifications ask these functions; none
re-implements a check. Private communities are invisible to outsiders:
views turn "may not view" into 404, never 403, so a URL does not confirm
that something exists.

Site admins (``is_superuser``) may do everything.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from communities.models import Community, Membership

Role = Membership.Role
State = Membership.State


def is_site_admin(user) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_superuser)


def membership_of(user, community: Community) -> Membership | None:
    """The user's membership row (any state), fetched once per community instance."""
    if not user.is_authenticated:
        return None
    cache: dict[int, Membership | None] = community.__dict__.setdefault("_membership_cache", {})
    if user.pk not in cache:
        cache[user.pk] = Membership.objects.filter(user=user, community=community).first()
    return cache[user.pk]


def remember_membership(user, community: Community, membership: Membership | None) -> None:
    """Seed the cache when the caller already holds the row (saves a query)."""
    if user.is_authenticated:
        community.__dict__.setdefault("_membership_cache", {})[user.pk] = membership


def _is_active_member(user, community: Community) -> bool:
    membership = membership_of(user, community)
    return membership is not None and membership.state == State.ACTIVE


def _is_facilitator(user, community: Community) -> bool:
    membership = membership_of(user, community)
    return membership is not None and membership.is_facilitator


# --- Community-level questions --------------------------------------------


def can_view_community(user, community: Community) -> bool:
    if community.visibility == Community.Visibility.PUBLIC:
        return True
    return is_site_admin(user) or _is_active_member(user, community)


def can_join(user, community: Community) -> bool:
    """May press "Join" (open) or "Ask to join" (approval) right now."""
    if not user.is_authenticated or not can_view_community(user, community):
        return False
    if community.join_policy == Community.JoinPolicy.INVITE:
        return False
    membership = membership_of(user, community)
    return membership is None or membership.state == State.LEFT


def join_blocked_reason(user, community: Community) -> str | None:
    """Why ``can_join`` says no, in words a person understands (None if it says yes)."""
    if can_join(user, community):
        return None
    if not user.is_authenticated:
        return "Log in to join this community."
    membership = membership_of(user, community)
    if membership is not None:
        if membership.state == State.ACTIVE:
            return "You are already a member."
        if membership.state == State.PENDING:
            return "Your request to join is waiting for a facilitator."
        if membership.state == State.BANNED:
            return "You can't join this community."
    if community.join_policy == Community.JoinPolicy.INVITE:
        return "This community is open by invitation only."
    return "You can't join this community."


def can_leave(user, community: Community) -> bool:
    membership = membership_of(user, community)
    if membership is None or membership.state not in (State.ACTIVE, State.PENDING):
        return False
    return not (membership.is_owner and is_last_owner(membership))


def can_post(user, community: Community) -> bool:
    return is_site_admin(user) or _is_active_member(user, community)


def can_moderate(user, community: Community) -> bool:
    return is_site_admin(user) or _is_facilitator(user, community)


def can_manage_members(user, community: Community) -> bool:
    return is_site_admin(user) or _is_facilitator(user, community)


def can_edit_community(user, community: Community) -> bool:
    """Facilitators keep the domain statement and description current."""
    return is_site_admin(user) or _is_facilitator(user, community)


def can_create_community(user) -> bool:
    return is_site_admin(user)


# --- Acting on another member ----------------------------------------------


def is_last_owner(membership: Membership) -> bool:
    if membership.role != Role.OWNER or membership.state != State.ACTIVE:
        return False
    others = Membership.objects.filter(community_id=membership.community_id, role=Role.OWNER, state=State.ACTIVE)
    return not others.exclude(pk=membership.pk).exists()


def _outranks(actor, target: Membership) -> bool:
    """Owners act on anyone but themselves; facilitators on plain members only."""
    if is_site_admin(actor):
        return True
    mine = membership_of(actor, target.community)
    if mine is None or not mine.is_facilitator or mine.pk == target.pk:
        return False
    return mine.is_owner or target.role == Role.MEMBER


def can_set_role(actor, target: Membership, role: str) -> bool:
    if role not in Role.values or role == target.role or target.state != State.ACTIVE:
        return False
    if target.role == Role.OWNER and is_last_owner(target):
        return False
    if not _outranks(actor, target):
        return False
    # A facilitator may make a member a facilitator; every other change
    # (ownership, demotions) is for owners and site admins.
    mine = membership_of(actor, target.community)
    return is_site_admin(actor) or (mine is not None and mine.is_owner) or role == Role.FACILITATOR


def can_remove_member(actor, target: Membership) -> bool:
    """Remove (they may rejoin) or ban (they may not)."""
    if not can_manage_members(actor, target.community):
        return False
    if target.state not in (State.ACTIVE, State.PENDING):
        return False
    if target.role == Role.OWNER and is_last_owner(target):
        return False
    return _outranks(actor, target)


def can_unban(actor, target: Membership) -> bool:
    return target.state == State.BANNED and can_manage_members(actor, target.community)


def can_decide_request(actor, target: Membership) -> bool:
    return target.state == State.PENDING and can_manage_members(actor, target.community)


# --- Querysets and look-ups ----------------------------------------------------


def visible_communities(user) -> QuerySet[Community]:
    communities = Community.objects.all()
    if is_site_admin(user):
        return communities
    public = Q(visibility=Community.Visibility.PUBLIC)
    if not user.is_authenticated:
        return communities.filter(public)
    mine = Membership.objects.filter(user=user, state=State.ACTIVE).values("community_id")
    return communities.filter(public | Q(pk__in=mine))


def get_community_or_404(user, slug: str) -> Community:
    """The community if the user may see it; otherwise the same 404 as a missing one."""
    community = Community.objects.filter(slug=slug).first()
    if community is None or not can_view_community(user, community):
        raise Http404("No such community.")
    return community
