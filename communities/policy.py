"""Who may do what. The one place that answers it.

Views, search, feeds, digests and notifications ask these functions; none
re-implements a check. Private communities are invisible to outsiders:
views turn "may not view" into 404, never 403, so a URL does not confirm
that something exists.

Two questions about a community, kept apart: ``can_see_community`` (its name,
domain statement, facilitators and a way to ask to join: the front page, the
directory, site search) and ``can_view_community`` (what is inside: threads,
resources, events, members, files). Open communities answer yes to both for
everyone; restricted ones yes to the first for everyone and to the second for
members; private ones to neither for anyone outside.

Site admins (``is_superuser``) may do everything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar, cast

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet
from django.http import Http404

from accounts.models import Viewer
from communities import queries
from communities.models import Community, Membership, Subgroup, SubgroupMembership
from core.db import one_or_none

Role = Membership.Role
State = Membership.State


def is_site_admin(user: Viewer) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_superuser)


def membership_of(user: Viewer, community: Community) -> Membership | None:
    """The user's membership row (any state), fetched once per community instance."""
    if not user.is_authenticated:
        return None
    cache: dict[int, Membership | None] = community.__dict__.setdefault("_membership_cache", {})
    if user.pk not in cache:
        # A cast until core.db.one_or_none says what its queryset holds.
        cache[user.pk] = cast(
            "Membership | None", one_or_none(Membership.objects.filter(user=user, community=community))
        )
    return cache[user.pk]


def remember_membership(user: Viewer, community: Community, membership: Membership | None) -> None:
    """Seed the cache when the caller already holds the row (saves a query)."""
    if user.is_authenticated:
        if membership is not None:
            membership.community = community
        community.__dict__.setdefault("_membership_cache", {})[user.pk] = membership


def _is_active_member(user: Viewer, community: Community) -> bool:
    membership = membership_of(user, community)
    return membership is not None and membership.state == State.ACTIVE


def _is_facilitator(user: Viewer, community: Community) -> bool:
    membership = membership_of(user, community)
    return membership is not None and membership.is_facilitator


def _is_owner(user: Viewer, community: Community) -> bool:
    membership = membership_of(user, community)
    return membership is not None and membership.is_owner


# --- Community-level questions --------------------------------------------


def can_see_community(user: Viewer, community: Community) -> bool:
    """Its name, domain statement and facilitators (the front page): everyone, unless it is private."""
    if community.visibility != Community.Visibility.PRIVATE:
        return True
    return is_site_admin(user) or _is_active_member(user, community)


def can_view_community(user: Viewer, community: Community) -> bool:
    """What is inside it (threads, resources, events, members, files): everyone if it is open, else members."""
    if community.visibility == Community.Visibility.OPEN:
        return True
    return is_site_admin(user) or _is_active_member(user, community)


def can_join(user: Viewer, community: Community) -> bool:
    """May press "Join" (open) or "Ask to join" (approval) right now."""
    if not user.is_authenticated or not can_see_community(user, community):
        return False
    if community.join_policy == Community.JoinPolicy.INVITE:
        return False
    membership = membership_of(user, community)
    return membership is None or membership.state == State.LEFT


def join_blocked_reason(user: Viewer, community: Community) -> str | None:
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


def can_leave(user: Viewer, community: Community) -> bool:
    membership = membership_of(user, community)
    if membership is None or membership.state not in (State.ACTIVE, State.PENDING):
        return False
    return not (membership.is_owner and is_last_owner(membership))


def can_post(user: Viewer, community: Community) -> bool:
    return is_site_admin(user) or _is_active_member(user, community)


def can_watch(user: Viewer, community: Community) -> bool:
    """Choose how closely to follow the community or a thread in it (watching levels): its members.

    Not site admins as such: what a level tells of goes to members in good
    standing (discussions/queries.py), so a level for anyone else would promise nothing.
    """
    return _is_active_member(user, community)


def can_moderate(user: Viewer, community: Community) -> bool:
    return is_site_admin(user) or _is_facilitator(user, community)


def can_manage_members(user: Viewer, community: Community) -> bool:
    return is_site_admin(user) or _is_facilitator(user, community)


def can_edit_community(user: Viewer, community: Community) -> bool:
    """Facilitators keep the domain statement and description current."""
    return is_site_admin(user) or _is_facilitator(user, community)


# Who may read the community, who may join it and its address: each changes what the
# whole community exposes (or breaks every link to it), so they are the owners' decisions.
OWNER_SETTINGS = ("visibility", "join_policy", "slug")


def can_change_owner_settings(user: Viewer, community: Community) -> bool:
    """Visibility, join policy and address (``OWNER_SETTINGS``): owners and site admins, not facilitators.

    Deleting a community would be one too; copsite has no page for it (site admins use the admin).
    """
    return is_site_admin(user) or _is_owner(user, community)


def can_create_community(user: Viewer) -> bool:
    """Create a community at once (owning it): site admins, and with open creation
    (``COPSITE_OPEN_COMMUNITY_CREATION``) anyone with a verified address."""
    if is_site_admin(user):
        return True
    return bool(settings.COPSITE_OPEN_COMMUNITY_CREATION) and has_verified_email(user)


def has_verified_email(user: Viewer) -> bool:
    """A signed-in, active person who has confirmed an address (asked once per request)."""
    if not (user.is_authenticated and user.is_active):
        return False
    cached = user.__dict__.get("_has_verified_email")
    if cached is None:
        cached = user.__dict__["_has_verified_email"] = queries.has_verified_email(user.pk)
    return bool(cached)


def can_request_community(user: Viewer) -> bool:
    """Ask the site admins for a new community: anyone with a verified address.

    An unverified account could be anyone's (or a script's); the decision is mailed to the address.
    """
    return has_verified_email(user)


def can_decide_community_requests(user: Viewer) -> bool:
    """See, approve and decline requests for new communities: site admins only."""
    return is_site_admin(user)


def can_see_welcome(user: Viewer, community: Community) -> bool:
    """A community's welcome (and its Start here): its members."""
    return _is_active_member(user, community)


def can_export_community(user: Viewer, community: Community) -> bool:
    """The whole community as a file (threads, deleted and hidden posts included): facilitators only."""
    return is_site_admin(user) or _is_facilitator(user, community)


# --- Acting on another member ----------------------------------------------


def is_last_owner(membership: Membership) -> bool:
    if membership.role != Role.OWNER or membership.state != State.ACTIVE:
        return False
    others = Membership.objects.filter(community_id=membership.community_id, role=Role.OWNER, state=State.ACTIVE)
    return not others.exclude(pk=membership.pk).exists()


def _outranks(actor: Viewer, target: Membership) -> bool:
    """Owners act on anyone but themselves; facilitators on plain members only."""
    if is_site_admin(actor):
        return True
    mine = membership_of(actor, target.community)
    if mine is None or not mine.is_facilitator or mine.pk == target.pk:
        return False
    return mine.is_owner or target.role == Role.MEMBER


def can_set_role(actor: Viewer, target: Membership, role: str) -> bool:
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


def can_remove_member(actor: Viewer, target: Membership) -> bool:
    """Remove (they may rejoin) or ban (they may not)."""
    if not can_manage_members(actor, target.community):
        return False
    if target.state not in (State.ACTIVE, State.PENDING):
        return False
    if target.role == Role.OWNER and is_last_owner(target):
        return False
    return _outranks(actor, target)


def can_ban(actor: Viewer, target: Membership) -> bool:
    """Ban (with a reason, for good or until a date): whom one may remove."""
    return can_remove_member(actor, target)


def can_unban(actor: Viewer, target: Membership, previous_role: str = Role.MEMBER) -> bool:
    """Lift a ban, which gives back the role it took (``previous_role``): only as far as one could have banned."""
    if target.state != State.BANNED or not can_manage_members(actor, target.community):
        return False
    if previous_role == Role.MEMBER or is_site_admin(actor):
        return True
    return _is_owner(actor, target.community)


def can_view_health(user: Viewer, community: Community) -> bool:
    """The community's health page and its declared rhythm: its facilitators, owners and site admins."""
    return is_site_admin(user) or _is_facilitator(user, community)


def can_view_site_health(user: Viewer) -> bool:
    """The overview of every community's health: site admins only."""
    return is_site_admin(user)


def can_view_audit_log(user: Viewer, community: Community) -> bool:
    """The community's audit log (who did what to whom, with reasons): its facilitators and site admins."""
    return can_manage_members(user, community)


def can_set_alert_cadence(user: Viewer) -> bool:
    """Choose how facilitator alerts are emailed: anyone signed in (it matters once they facilitate)."""
    return bool(user.is_authenticated and user.is_active)


def can_decide_request(actor: Viewer, target: Membership) -> bool:
    return target.state == State.PENDING and can_manage_members(actor, target.community)


# --- Newcomers, buddies and the member directory -----------------------------------


def is_active_member(user: Viewer, community: Community) -> bool:
    """A member in good standing (not pending, left or banned)."""
    return _is_active_member(user, community)


def can_view_member_directory(user: Viewer, community: Community) -> bool:
    """The member directory is for the community's own members (and site admins), even in an open
    community: who belongs, and what they know, is not shown to the world. Outsiders get a 404."""
    return is_site_admin(user) or _is_active_member(user, community)


def can_see_member_levels(user: Viewer, community: Community) -> bool:
    """Participation levels (core, active, peripheral, inactive) are the facilitators' view of the community."""
    return can_manage_members(user, community)


def can_set_expertise(user: Viewer, community: Community) -> bool:
    """A member declares their own expertise in a community they belong to."""
    return _is_active_member(user, community)


def sees_ways_to_start(user: Viewer, community: Community) -> bool:
    """An active member with no contribution here yet is shown ways to start."""
    membership = membership_of(user, community)
    return membership is not None and membership.is_active and membership.first_contributed_at is None


def can_pair_buddies(user: Viewer, community: Community) -> bool:
    """Facilitators pair newcomers with buddies, where the community chose to have buddies."""
    return community.buddies and can_manage_members(user, community)


# Who may be a buddy: someone who takes part (participation levels, communities.participation).
BUDDY_LEVELS = (Membership.Level.CORE, Membership.Level.ACTIVE)


def buddy_refusal(newcomer: Membership, buddy: Membership | None) -> str | None:
    """Why ``buddy`` can't be ``newcomer``'s buddy (None: they can). Both memberships of the same community."""
    if buddy is None or buddy.state != State.ACTIVE:
        return "A buddy must be an active member of this community."
    if not newcomer.is_active:
        return "Only an active member can have a buddy."
    if buddy.user_id == newcomer.user_id:
        return "A newcomer can't be their own buddy."
    if buddy.level not in BUDDY_LEVELS:
        return (
            f"A buddy must be a core or active member; {buddy.user.name} is "
            f"{buddy.get_level_display().lower()} here. Choose someone who takes part regularly."
        )
    return None


def member_communities(user: Viewer) -> QuerySet[Community]:
    """Communities ``user`` is an active member of."""
    if not user.is_authenticated:
        return Community.objects.none()
    mine = Membership.objects.filter(user=user, state=State.ACTIVE).values("community_id")
    return Community.objects.filter(pk__in=mine)


def can_mark_good_first_reply(user: Viewer, thread: ThreadLike) -> bool:
    """Facilitators mark a question "good first reply" for newcomers."""
    return can_moderate(user, thread.community)


# --- Querysets and look-ups ----------------------------------------------------


def visible_communities(user: Viewer) -> QuerySet[Community]:
    """The list twin of ``can_view_community``: communities whose content ``user`` reads."""
    return _communities_where(user, [Community.Visibility.OPEN])


def listed_communities(user: Viewer) -> QuerySet[Community]:
    """The list twin of ``can_see_community``: the directory's communities (open and restricted, and the
    private ones ``user`` belongs to)."""
    return _communities_where(user, [Community.Visibility.OPEN, Community.Visibility.RESTRICTED])


def _communities_where(user: Viewer, to_everyone: list[str]) -> QuerySet[Community]:
    communities = Community.objects.all()
    if is_site_admin(user):
        return communities
    shown = Q(visibility__in=to_everyone)
    if not user.is_authenticated:
        return communities.filter(shown)
    mine = Membership.objects.filter(user=user, state=State.ACTIVE).values("community_id")
    return communities.filter(shown | Q(pk__in=mine))


def has_public_feeds(community: Community) -> bool:
    """Feeds are read by aggregators without cookies: a community has them when a visitor may read it."""
    return can_view_community(AnonymousUser(), community)


def get_community_or_404(user: Viewer, slug: str) -> Community:
    """The community if the user may see what is inside it (``can_view_community``); otherwise the
    same 404 as a missing one. Every page inside a community starts here.

    The person's membership comes with it, into the cache ``membership_of`` reads.
    """
    community = _community_or_none(user, slug)
    if community is None or not can_view_community(user, community):
        raise Http404("No such community.")
    return community


def get_front_page_or_404(user: Viewer, slug: str) -> Community:
    """The community if the user may see its front page (``can_see_community``): the page itself,
    asking to join and withdrawing the request. Otherwise the same 404 as a missing one."""
    community = _community_or_none(user, slug)
    if community is None or not can_see_community(user, community):
        raise Http404("No such community.")
    return community


def _community_or_none(user: Viewer, slug: str) -> Community | None:
    community, membership = queries.community_and_membership(slug, user)
    if community is not None:
        remember_membership(user, community, membership)
    return community


# --- Threads and posts ---------------------------------------------------------------
# Duck-typed on discussions' Thread and Post (``.community``, ``.thread``,
# ``.author_id``…): communities imports none of the apps above it. The
# protocols below name the shape the checks read, for the type checker.


class ThreadLike(Protocol):
    """What the checks read of discussions' Thread."""

    community: Community  # linked_thread sets it to the page's own, already loaded

    @property
    def community_id(self) -> int: ...
    @property
    def author_id(self) -> int | None: ...
    @property
    def kind(self) -> str: ...
    @property
    def locked_at(self) -> datetime | None: ...
    @property
    def subgroup_id(self) -> int | None: ...


class PostLike(Protocol):
    """What the checks read of discussions' Post."""

    @property
    def thread(self) -> ThreadLike: ...
    @property
    def author_id(self) -> int | None: ...
    @property
    def is_deleted(self) -> bool: ...
    @property
    def is_hidden(self) -> bool: ...
    @property
    def is_held(self) -> bool: ...


class ResourceLike(Protocol):
    """What the checks read of resources' Resource."""

    @property
    def community(self) -> Community: ...
    @property
    def added_by_id(self) -> int | None: ...
    @property
    def removed_at(self) -> datetime | None: ...
    @property
    def owner_id(self) -> int | None: ...
    @property
    def status(self) -> str: ...


class ValueNoteLike(Protocol):
    """What the checks read of value's ValueNote (its ``community`` set by the page that shows it)."""

    @property
    def community(self) -> Community: ...
    @property
    def author_id(self) -> int: ...


class EventLike(Protocol):
    """What the checks read of events' Event."""

    community: Community  # linked_event sets it to the page's own, already loaded

    @property
    def community_id(self) -> int: ...
    @property
    def cancelled_at(self) -> datetime | None: ...


_Thread = TypeVar("_Thread", bound=ThreadLike)
_Resource = TypeVar("_Resource", bound=ResourceLike)
_Event = TypeVar("_Event", bound=EventLike)

# Deleted posts keep their content this long for facilitators, then it is purged.
DELETED_CONTENT_DAYS = 30


def can_view_thread(user: Viewer, thread: ThreadLike) -> bool:
    """As a reader of its community (and of its subgroup, if it has one), or as its guest."""
    if _reads_as_member(user, thread):
        return True
    # A guest reads this one thread while the place lasts, held threads aside (a guest starts none).
    return getattr(thread, "held_at", None) is None and is_guest_in(user, thread)


def _reads_as_member(user: Viewer, thread: ThreadLike) -> bool:
    if not can_view_community(user, thread.community):
        return False
    if not _reads_subgroup_of(user, thread):
        return False
    # Held for review: invisible (a 404) to everyone but its author and the facilitators.
    if getattr(thread, "held_at", None) is not None:
        return _is_author(user, thread) or can_moderate(user, thread.community)
    return True


# --- Subgroups and guests ----------------------------------------------------------------
# A subgroup's threads are read by its members (while they are active members of the
# community: leaving or a ban ends it here, with no row to clean up) and by the community's
# facilitators, who moderate them. A guest reads and answers one thread until their place
# expires or is revoked; the clock is compared on every request, so nothing needs to run
# for access to end. Guest places live with the threads (discussions), which fills
# ``register_guest_places`` when it starts: communities imports no app above it.

# The active guest places of a person: ``(user) -> queryset of thread ids`` (values("thread_id")),
# and of a thread: ``(thread id) -> queryset of user ids`` (values("user_id")).
_guest_places: Callable[[Viewer], QuerySet[Any, Any]] | None = None
_thread_guests: Callable[[int], QuerySet[Any, Any]] | None = None


def register_guest_places(
    places: Callable[[Viewer], QuerySet[Any, Any]], guests: Callable[[int], QuerySet[Any, Any]]
) -> None:
    global _guest_places, _thread_guests
    _guest_places, _thread_guests = places, guests


def _guest_readers(thread: ThreadLike) -> QuerySet[Any, Any] | list[int]:
    return [] if _thread_guests is None else _thread_guests(getattr(thread, "pk", 0))


def _guest_thread_ids(user: Viewer) -> QuerySet[Any, Any] | None:
    if not user.is_authenticated or _guest_places is None:
        return None
    return _guest_places(user)


def is_guest_in(user: Viewer, thread: ThreadLike) -> bool:
    """Whether ``user`` holds an active guest place in ``thread``.

    The person's places are read once per user instance (a request's), so a page
    asking about many threads (linked discussions on resource cards) costs one query.
    """
    places = _guest_thread_ids(user)
    if places is None:
        return False
    seeded: dict[int, bool] | None = thread.__dict__.get("_guest_cache")
    if seeded is not None and user.pk in seeded:
        return seeded[user.pk]
    known: frozenset[int] | None = getattr(user, "_guest_thread_ids", None)
    if known is None:
        known = frozenset(places.values_list("thread_id", flat=True))
        setattr(user, "_guest_thread_ids", known)  # noqa: B010 - a cache on the request's user
    return getattr(thread, "pk", None) in known


def remember_guest(user: Viewer, thread: ThreadLike, is_guest: bool) -> None:
    """Seed ``is_guest_in`` for this thread when the caller read it with the thread (saves a query)."""
    if user.is_authenticated:
        thread.__dict__.setdefault("_guest_cache", {})[user.pk] = is_guest


def posts_as_guest(user: Viewer, thread: ThreadLike) -> bool:
    """Whether what ``user`` writes in ``thread`` is a guest's (their byline says so): not as a member."""
    return not _posts_in(user, thread) and is_guest_in(user, thread)


def subgroup_ids_of(user: Viewer, community: Community) -> frozenset[int]:
    """The subgroups of ``community`` whose threads ``user`` reads as their member (one query per page)."""
    if not user.is_authenticated or not _is_active_member(user, community):
        return frozenset()
    cache: dict[int, frozenset[int]] = community.__dict__.setdefault("_subgroup_cache", {})
    if user.pk not in cache:
        rows = SubgroupMembership.objects.filter(user_id=user.pk, subgroup__community=community)
        cache[user.pk] = frozenset(rows.values_list("subgroup_id", flat=True))
    return cache[user.pk]


def can_read_subgroup(user: Viewer, community: Community, subgroup_id: int) -> bool:
    """Its members (active in the community), the community's facilitators and site admins."""
    if is_site_admin(user) or _is_facilitator(user, community):
        return True
    return subgroup_id in subgroup_ids_of(user, community)


def _reads_subgroup_of(user: Viewer, thread: ThreadLike) -> bool:
    subgroup_id = thread.subgroup_id
    return subgroup_id is None or can_read_subgroup(user, thread.community, subgroup_id)


def can_see_subgroups(user: Viewer, community: Community) -> bool:
    """A community's subgroups by name ("ask a facilitator to join"): its active members only."""
    return is_site_admin(user) or _is_active_member(user, community)


def can_manage_subgroups(user: Viewer, community: Community) -> bool:
    """Create, rename and delete subgroups, add and remove their members: facilitators and owners."""
    return can_moderate(user, community)


def can_join_subgroup(person: Viewer, community: Community) -> bool:
    """Who may be added to a subgroup: an active member of its community with a working account."""
    return bool(person.is_authenticated and person.is_active and _is_active_member(person, community))


def can_post_in_subgroup(user: Viewer, subgroup: Subgroup) -> bool:
    """Start a thread in a subgroup: its members (site admins too)."""
    community = subgroup.community
    if not can_post(user, community):
        return False
    return is_site_admin(user) or subgroup.pk in subgroup_ids_of(user, community)


def can_invite_guest(user: Viewer, thread: ThreadLike) -> bool:
    """Ask an outside expert into one thread, revoke or extend their place: the community's facilitators."""
    return can_moderate(user, thread.community) and getattr(thread, "held_at", None) is None


def guests_visible_to(user: Viewer, thread: ThreadLike) -> bool:
    """Who the thread's guests are (the list with their end dates): its facilitators."""
    return can_moderate(user, thread.community)


def _subgroups_read_q(user: Viewer, prefix: str) -> Q:
    """Threads outside any subgroup, or in one ``user`` belongs to while active in its community."""
    active = Membership.objects.filter(user_id=user.pk or 0, state=State.ACTIVE).values("community_id")
    mine = SubgroupMembership.objects.filter(user_id=user.pk or 0, subgroup__community__in=active).values("subgroup_id")
    return Q(**{f"{prefix}subgroup__isnull": True}) | Q(**{f"{prefix}subgroup__in": mine})


def guest_threads_q(user: Viewer, prefix: str = "") -> Q:
    """Threads ``user`` is a guest in right now (none held for review); nothing for anyone else."""
    places = _guest_thread_ids(user)
    if places is None:
        return Q(pk__in=[])
    return Q(**{f"{prefix}pk__in": places}) & _not_held_q(prefix)


class HeldListed:
    """Which threads held for review a community's thread list shows someone (``listed_held_threads``)."""

    ALL = "all"  # facilitators: everything, held or not
    OWN = "own"  # members: their own held threads beside everyone's published ones
    NONE = "none"  # everyone else: nothing held


def listed_held_threads(user: Viewer, community: Community) -> str:
    """Held threads in a community's list: all for facilitators, a person's own, or none (a ``HeldListed``)."""
    if can_moderate(user, community):
        return HeldListed.ALL
    if user.is_authenticated:
        return HeldListed.OWN
    return HeldListed.NONE


def listed_threads_q(user: Viewer, community: Community) -> Q:
    """The threads of ``community``'s list that ``user`` sees, for a reader who may view ``community``.

    ``visible_threads_q`` for one community whose membership is already
    known (``membership_of``): decided here rather than by subqueries, which
    keeps the busiest list cheap. tests/test_list_visibility.py proves the two agree.
    """
    in_community = Q(community=community)
    held = listed_held_threads(user, community)
    if held == HeldListed.ALL:
        return in_community
    if held == HeldListed.OWN:
        return in_community & (_not_held_q() | Q(author=user)) & listed_subgroups_q(user, community)
    return in_community & published_threads_q()


def listed_subgroups_q(user: Viewer, community: Community) -> Q:
    """For someone who sees no held thread but their own: threads outside subgroups, and in theirs.

    Facilitators list everything (``HeldListed.ALL``); anonymous visitors no subgroup thread
    (``published_threads_q``). The subgroups come as a subquery, not a query of their own.
    """
    if not _is_active_member(user, community):
        return Q(subgroup__isnull=True)
    mine = SubgroupMembership.objects.filter(user_id=user.pk or 0, subgroup__community=community).values("subgroup_id")
    return Q(subgroup__isnull=True) | Q(subgroup__in=mine)


def get_thread_or_404(user: Viewer, queryset: QuerySet[Any, _Thread], pk: int) -> _Thread:
    """The thread (from ``queryset``, with community selected) if visible, else 404."""
    # A cast until core.db.one_or_none says what its queryset holds.
    thread = cast("_Thread | None", one_or_none(queryset.select_related("community").filter(pk=pk)))
    return visible_thread_or_404(user, thread)


def published_threads_q(prefix: str = "") -> Q:
    """Threads every reader of their community sees: not held for review, not in a subgroup."""
    return _not_held_q(prefix) & Q(**{f"{prefix}subgroup__isnull": True})


def _not_held_q(prefix: str = "") -> Q:
    return Q(**{f"{prefix}held_at__isnull": True})


# A post's ``state`` (discussions.models.Post.State), duck-typed: communities imports no app above it.
POST_VISIBLE, POST_HELD, POST_HIDDEN, POST_DELETED = "visible", "held", "hidden", "deleted"


def published_posts_q(prefix: str = "") -> Q:
    """Posts every reader of their community sees: visible (not held, hidden or deleted), in a published thread."""
    return Q(**{f"{prefix}state": POST_VISIBLE}) & published_threads_q(f"{prefix}thread__")


def visible_threads_q(user: Viewer, prefix: str = "") -> Q:
    """The list twin of ``can_view_thread``: a filter on Thread's fields (``prefix`` for a relation, "thread__").

    Every list, search, feed, sitemap, profile and count of threads uses it
    (through ``Thread.objects.visible_to``); tests/test_list_visibility.py
    proves it agrees with ``can_view_thread`` for every role and thread state.
    """
    if is_site_admin(user):
        return Q()
    in_view = Q(**{f"{prefix}community__in": visible_communities(user)})
    if not user.is_authenticated:
        return in_view & published_threads_q(prefix)
    own = Q(**{f"{prefix}author": user})
    moderated = Q(**{f"{prefix}community__in": moderated_communities(user)})
    as_member = in_view & (_not_held_q(prefix) | own | moderated) & (_subgroups_read_q(user, prefix) | moderated)
    return as_member | guest_threads_q(user, prefix)


@dataclass(frozen=True)
class MemberScope:
    """What a member's home may list (``member_threads_q``), decided once, as data for its written-out statements.

    ``communities``: those they belong to (an active membership). Threads held for review show when
    they are the member's own (``author``) or in ``held_shown_in`` (where they facilitate; every one
    of their communities for a site admin, ``all_held``). ``sees_everything``: a site admin, who may
    view any community; others view public ones and their own.
    """

    author: int
    communities: tuple[int, ...]
    held_shown_in: tuple[int, ...]
    all_held: bool
    sees_everything: bool

    @property
    def every_post_readable_in(self) -> bool | tuple[int, ...]:
        """Where they may read every post, held, hidden and deleted ones too (``readable_posts_in`` is ALL).

        Where they moderate (``can_moderate``), as for held threads: True for a site admin (every
        community, their own or not), else the communities they facilitate (``held_shown_in``).
        """
        return True if self.all_held else self.held_shown_in


def member_scope(user: Viewer, memberships: Iterable[Membership]) -> MemberScope:
    """``user``'s home scope from their membership rows (``memberships``: theirs, loaded by the caller)."""
    if not user.is_authenticated:
        return MemberScope(author=0, communities=(), held_shown_in=(), all_held=False, sees_everything=False)
    active = [m for m in memberships if m.user_id == user.pk and m.state == State.ACTIVE]
    admin = is_site_admin(user)
    return MemberScope(
        author=user.pk,
        communities=tuple(m.community_id for m in active),
        held_shown_in=tuple(m.community_id for m in active if admin or m.is_facilitator),
        all_held=admin,
        sees_everything=admin,
    )


def member_threads_q(user: Viewer, prefix: str = "", memberships: Iterable[Membership] | None = None) -> Q:
    """``visible_threads_q`` within the communities ``user`` belongs to (an active membership): a member's home.

    A member may view their own communities, so only the held-for-review rule is left to decide.
    ``memberships``: the person's membership rows when the caller already holds them (then the
    filter names the communities instead of looking the memberships up again). ``prefix`` as for
    ``visible_threads_q``. tests/test_home.py proves it equals ``visible_threads_q`` there for
    every role and thread state.
    """
    if not user.is_authenticated:
        return Q(pk__in=[])
    mine: QuerySet[Membership, Any] | tuple[int, ...]
    facilitated: QuerySet[Membership, Any] | tuple[int, ...]
    if memberships is None:
        rows = Membership.objects.filter(user=user, state=State.ACTIVE)
        mine = rows.values("community_id")
        facilitated = rows.filter(role__in=[Role.FACILITATOR, Role.OWNER]).values("community_id")
    else:
        scope = member_scope(user, memberships)
        mine, facilitated = scope.communities, scope.held_shown_in
    in_mine = Q(**{f"{prefix}community__in": mine})
    if is_site_admin(user):
        return in_mine
    own = Q(**{f"{prefix}author": user})
    moderated = Q(**{f"{prefix}community__in": facilitated})
    # Subgroup threads of their communities: the subgroups they are in (the community is one of theirs).
    in_subgroup = Q(**{f"{prefix}subgroup__in": SubgroupMembership.objects.filter(user=user).values("subgroup_id")})
    subgroups = Q(**{f"{prefix}subgroup__isnull": True}) | in_subgroup | moderated
    return in_mine & (_not_held_q(prefix) | own | moderated) & subgroups


def readable_posts_q(user: Viewer, prefix: str = "") -> Q:
    """The list twin of ``can_view_thread(post.thread) and can_see_post_content(post)``, on Post's fields."""
    if is_site_admin(user):
        return Q()
    thread = visible_threads_q(user, f"{prefix}thread__")
    if not user.is_authenticated:
        return thread & published_posts_q(prefix)
    shown = Q(**{f"{prefix}state": POST_VISIBLE})
    own_hidden = Q(**{f"{prefix}state__in": [POST_HELD, POST_HIDDEN], f"{prefix}author": user})
    moderated = Q(**{f"{prefix}thread__community__in": moderated_communities(user)})
    return thread & (shown | own_hidden | moderated)


class ReadablePosts:
    """Which posts of a community's listed threads someone may read (``readable_posts_in``)."""

    ALL = "all"  # facilitators and site admins: every post, held, hidden and deleted ones included
    OWN = "own"  # everyone else signed in: posts shown to all, and their own held or hidden ones
    SHOWN = "shown"  # anonymous visitors: posts shown to all


def readable_posts_in(user: Viewer, community: Community) -> str:
    """``readable_posts_q`` for the posts of threads ``community``'s list shows ``user`` (a ``ReadablePosts``).

    Decided from the membership already known, as ``listed_held_threads``: the
    thread list's unread counts follow it in SQL. tests/test_read_positions.py
    proves it agrees with ``readable_posts_q`` for every role.
    """
    if can_moderate(user, community):
        return ReadablePosts.ALL
    if user.is_authenticated:
        return ReadablePosts.OWN
    return ReadablePosts.SHOWN


def readable_listed_posts_q(user: Viewer, community: Community, prefix: str = "") -> Q:
    """``readable_posts_in`` as a filter on Post's fields, for posts of threads listed in ``community``."""
    readable = readable_posts_in(user, community)
    if readable == ReadablePosts.ALL:
        return Q()
    shown = Q(**{f"{prefix}state": POST_VISIBLE})
    if readable == ReadablePosts.OWN:
        return shown | Q(**{f"{prefix}state__in": [POST_HELD, POST_HIDDEN], f"{prefix}author": user})
    return shown


def visible_thread_or_404(user: Viewer, thread: _Thread | None) -> _Thread:
    """``thread`` (loaded with its community) if the user may see it; a missing one (None) is the same 404."""
    if thread is None or not can_view_thread(user, thread):
        raise Http404("No such thread.")
    return thread


def readers_q(thread: ThreadLike, post: PostLike | None = None) -> Q:
    """People who may open ``thread`` (and read ``post``): a filter on the user model, for telling them of it.

    The twin of ``can_view_thread`` (and ``can_see_post_content``) the other way
    round: not "may this person see this?" but "who may?", so notifications pick
    their recipients in one query. Active accounts only.
    tests/test_watching.py proves it agrees with the single-object checks for every role.
    """
    community_id = thread.community_id
    admin = Q(is_superuser=True)
    in_good_standing = Membership.objects.filter(community_id=community_id, state=State.ACTIVE)
    member = Q(pk__in=in_good_standing.values("user_id"))
    facilitator = Q(pk__in=in_good_standing.filter(role__in=[Role.FACILITATOR, Role.OWNER]).values("user_id"))
    readers = Q(is_active=True)
    if not thread.community.is_open:
        readers &= admin | member
    if thread.subgroup_id is not None:
        in_subgroup = SubgroupMembership.objects.filter(subgroup_id=thread.subgroup_id).values("user_id")
        readers &= admin | facilitator | (member & Q(pk__in=in_subgroup))
    if getattr(thread, "held_at", None) is None and _guest_places is not None:
        # Guests of the thread, while their place lasts (their held and hidden posts aside, as for anyone).
        guests = Q(is_active=True, pk__in=_guest_readers(thread))
        readers |= guests
    if getattr(thread, "held_at", None) is not None:
        readers &= admin | Q(pk=thread.author_id) | facilitator
    if post is not None and post.is_deleted:
        readers &= admin | facilitator
    elif post is not None and post.is_hidden:
        readers &= admin | Q(pk=post.author_id) | facilitator
    return readers


# --- Links between objects ------------------------------------------------------------
# Pages link to things kept elsewhere: a resource to its discussion, an event to its chat,
# the chat back to its event. Facilitators move threads between communities, so the other
# end may now be where the viewer can't see it; then the page shows no link to it, and no
# title, count or address of it either.


def linked_thread(user: Viewer, thread: _Thread | None, *, beside: Community | None = None) -> _Thread | None:
    """``thread`` if the viewer may see it, else None (also for no thread).

    ``beside``: the community of the page that links to it, already loaded; reused
    when the thread is still there, which saves two queries per link.
    """
    if thread is None:
        return None
    if beside is not None and thread.community_id == beside.pk:
        thread.community = beside
    return thread if can_view_thread(user, thread) else None


def linked_event(user: Viewer, event: _Event | None, *, beside: Community | None = None) -> _Event | None:
    """``event`` if the viewer may see it, else None (``beside`` as for ``linked_thread``)."""
    if event is None:
        return None
    if beside is not None and event.community_id == beside.pk:
        event.community = beside
    return event if can_view_event(user, event) else None


def can_start_thread(user: Viewer, community: Community) -> bool:
    return can_post(user, community)


def can_reply(user: Viewer, thread: ThreadLike) -> bool:
    """Members (of its subgroup, if it has one) and its guests reply to open threads; moderators
    may still answer in locked ones."""
    if not (_posts_in(user, thread) or is_guest_in(user, thread)):
        return False
    return thread.locked_at is None or can_moderate(user, thread.community)


def _posts_in(user: Viewer, thread: ThreadLike) -> bool:
    """Posts in ``thread`` as a member: of its community, and of its subgroup if it has one."""
    return can_post(user, thread.community) and _reads_subgroup_of(user, thread)


def _writes_own_in(user: Viewer, thread: ThreadLike) -> bool:
    """Keeps their own posts of ``thread`` (edit, delete): a member who posts there, or its guest."""
    return _posts_in(user, thread) or is_guest_in(user, thread)


def _is_author(user: Viewer, post: PostLike | ThreadLike) -> bool:
    return user.is_authenticated and post.author_id == user.pk


def can_see_post_content(user: Viewer, post: PostLike) -> bool:
    """Held and hidden posts: their author and moderators. Deleted posts: moderators only."""
    if post.is_deleted:
        return can_moderate(user, post.thread.community)
    if post.is_hidden:
        return _is_author(user, post) or can_moderate(user, post.thread.community)
    return True


def can_edit_post(user: Viewer, post: PostLike) -> bool:
    community = post.thread.community
    if post.is_deleted:
        return False
    if can_moderate(user, community):
        return True
    return _is_author(user, post) and not post.is_hidden and _writes_own_in(user, post.thread)


def can_delete_post(user: Viewer, post: PostLike) -> bool:
    community = post.thread.community
    if post.is_deleted:
        return False
    return can_moderate(user, community) or (_is_author(user, post) and _writes_own_in(user, post.thread))


def can_view_history(user: Viewer, post: PostLike) -> bool:
    return can_view_thread(user, post.thread) and can_see_post_content(user, post)


def can_react(user: Viewer, post: PostLike) -> bool:
    """One "helpful" per member per post; not on your own post, nor on hidden or deleted ones."""
    if post.is_deleted or post.is_hidden or _is_author(user, post):
        return False
    return _posts_in(user, post.thread)


def can_flag(user: Viewer, post: PostLike) -> bool:
    # Hidden posts are already in facilitators' hands.
    if post.is_deleted or post.is_hidden or _is_author(user, post):
        return False
    return _posts_in(user, post.thread)


def can_review_held(user: Viewer, post: PostLike) -> bool:
    """Approve or turn down a post held for review."""
    return post.is_held and can_moderate(user, post.thread.community)


def can_moderate_thread(user: Viewer, thread: ThreadLike) -> bool:
    return can_moderate(user, thread.community)


def can_move_thread(user: Viewer, thread: ThreadLike, target: Community) -> bool:
    """Between communities the user moderates; a subgroup's thread stays in its community (its
    subgroup is there, and outside it the thread would be open to all the target's members)."""
    if thread.subgroup_id is not None:
        return False
    return can_moderate(user, thread.community) and can_moderate(user, target) and target.pk != thread.community_id


def can_accept_answer(user: Viewer, thread: ThreadLike) -> bool:
    if thread.kind != "question":
        return False
    if can_moderate(user, thread.community):
        return True
    return user.is_authenticated and thread.author_id == user.pk and _posts_in(user, thread)


def moderated_communities(user: Viewer) -> QuerySet[Community]:
    """Communities whose threads the user may move things into."""
    if is_site_admin(user):
        return Community.objects.all()
    if not user.is_authenticated:
        return Community.objects.none()
    mine = Membership.objects.filter(user=user, state=State.ACTIVE, role__in=[Role.FACILITATOR, Role.OWNER]).values(
        "community_id"
    )
    return Community.objects.filter(pk__in=mine)


def moderator_ids(community: Community) -> list[int]:
    """The people who moderate ``community`` (its active owners and facilitators), told of the work that waits.

    Site admins may moderate everywhere but are not counted: they would be told of every community's.
    """
    return list(
        Membership.objects.filter(
            community=community,
            state=State.ACTIVE,
            role__in=[Role.FACILITATOR, Role.OWNER],
            user__is_active=True,
        ).values_list("user_id", flat=True)
    )


# --- Resources (the shared repertoire) -------------------------------------------------


def can_view_resource(user: Viewer, resource: ResourceLike) -> bool:
    """Not removed, in a community the viewer sees; a draft only for its owner and the facilitators."""
    if resource.removed_at is not None or not can_view_community(user, resource.community):
        return False
    return resource.status != "draft" or _owns_resource(user, resource) or can_moderate(user, resource.community)


def _owns_resource(user: Viewer, resource: ResourceLike) -> bool:
    return user.is_authenticated and resource.owner_id == user.pk


def visible_resources_q(user: Viewer, prefix: str = "") -> Q:
    """The list twin of ``can_view_resource``, on Resource's fields (lists leave drafts out)."""
    return listed_resources_q(prefix) & Q(**{f"{prefix}community__in": visible_communities(user)})


def listed_resources_q(prefix: str = "") -> Q:
    """Resources every reader of their community sees: not removed, not a draft."""
    return Q(**{f"{prefix}removed_at__isnull": True}) & ~Q(**{f"{prefix}status": "draft"})


def drafts_q(user: Viewer, community: Community) -> Q:
    """The drafts of ``community`` the viewer may see: all of them for facilitators, else their own."""
    if can_moderate(user, community):
        return Q(status="draft", removed_at__isnull=True)
    if not user.is_authenticated:
        return Q(pk__in=[])
    return Q(status="draft", removed_at__isnull=True, owner_id=user.pk)


def get_resource_or_404(user: Viewer, queryset: QuerySet[Any, _Resource], slug: str, pk: int) -> _Resource:
    """The resource if the viewer may see it, else the same 404 as a missing one.

    The viewer's membership of its community comes in the same statement, into
    the cache ``membership_of`` reads (the page's permission questions cost no query).
    """
    rows = queries.with_viewer_membership(queryset.select_related("community"), user)
    # A cast until core.db.one_or_none says what its queryset holds.
    resource = cast("_Resource | None", one_or_none(rows.filter(pk=pk)))
    if resource is not None:
        remember_membership(user, resource.community, queries.viewer_membership(resource))
    if resource is None or resource.community.slug != slug or not can_view_resource(user, resource):
        raise Http404("No such resource.")
    return resource


def can_add_resource(user: Viewer, community: Community) -> bool:
    return can_post(user, community)


def can_edit_resource(user: Viewer, resource: ResourceLike) -> bool:
    community = resource.community
    if can_moderate(user, community):
        return True
    mine = user.is_authenticated and user.pk in (resource.added_by_id, resource.owner_id)
    return mine and can_post(user, community)


def can_remove_resource(user: Viewer, resource: ResourceLike) -> bool:
    return can_edit_resource(user, resource)


def can_pin_resource(user: Viewer, resource: ResourceLike) -> bool:
    return can_moderate(user, resource.community)


def can_endorse_resource(user: Viewer, resource: ResourceLike) -> bool:
    """Endorse, or mark superseded: facilitators only."""
    return can_moderate(user, resource.community)


def can_supersede_resource(user: Viewer, resource: ResourceLike) -> bool:
    return can_moderate(user, resource.community)


def can_publish_resource(user: Viewer, resource: ResourceLike) -> bool:
    """A draft goes out to the library: its owner or a facilitator."""
    return can_moderate(user, resource.community) or (
        _owns_resource(user, resource) and can_post(user, resource.community)
    )


def can_review_resource(user: Viewer, resource: ResourceLike) -> bool:
    return can_moderate(user, resource.community)


def can_link_thread_to_resource(user: Viewer, resource: ResourceLike, thread: ThreadLike) -> bool:
    """A facilitator or the owner links a discussion of the same community that they can see."""
    if not can_link_threads(user, resource):
        return False
    return thread.community_id == resource.community.pk and can_view_thread(user, thread)


def can_link_threads(user: Viewer, resource: ResourceLike) -> bool:
    """Whether the viewer links discussions to ``resource`` at all: a facilitator, or its owner as a member."""
    return can_publish_resource(user, resource)


def can_change_resource_owner(user: Viewer, resource: ResourceLike) -> bool:
    """Facilitators hand a resource to another member (its owner answers for keeping it current)."""
    return can_moderate(user, resource.community)


def can_own_resource(person: Viewer, community: Community) -> bool:
    """Who may be made a resource's owner: an active member of its community with a working account."""
    return bool(person.is_authenticated and person.is_active and _is_active_member(person, community))


def can_unpublish_resource(user: Viewer, resource: ResourceLike) -> bool:
    """Facilitators take a published or endorsed resource back to draft (a superseded one stays as it is)."""
    return resource.status in ("published", "endorsed") and can_moderate(user, resource.community)


def can_restore_resource(user: Viewer, community: Community) -> bool:
    """Facilitators see the removed resources of their community and restore them."""
    return can_moderate(user, community)


def can_react_to_resource(user: Viewer, resource: ResourceLike) -> bool:
    if user.is_authenticated and resource.added_by_id == user.pk:
        return False
    return can_post(user, resource.community)


def can_discuss_resource(user: Viewer, resource: ResourceLike) -> bool:
    return can_start_thread(user, resource.community)


# --- Events and hosted chats -----------------------------------------------------------


# --- Value notes -----------------------------------------------------------------


def can_add_value_note(user: Viewer, community: Community) -> bool:
    """Active members of the item's community (so not pending, left or banned); the caller has
    found the item itself through the checks above (a thread, a post whose content they may
    read, a resource not removed)."""
    return bool(user.is_authenticated and _is_active_member(user, community))


def can_edit_value_note(user: Viewer, note: ValueNoteLike) -> bool:
    """Its author, while still an active member of the note's community."""
    return bool(user.is_authenticated and note.author_id == user.pk and _is_active_member(user, note.community))


def can_remove_value_note(user: Viewer, note: ValueNoteLike) -> bool:
    """A facilitator takes someone's note down (audited); the author deletes their own."""
    return can_moderate(user, note.community)


def can_delete_value_note(user: Viewer, note: ValueNoteLike) -> bool:
    """Its author (even after leaving: their words are theirs to withdraw), or a facilitator."""
    if user.is_authenticated and note.author_id == user.pk and can_view_community(user, note.community):
        return True
    return can_remove_value_note(user, note)


def can_view_value_report(user: Viewer, community: Community) -> bool:
    """The community's facilitators and owners (and site admins): the report names members."""
    return is_site_admin(user) or _is_facilitator(user, community)


def can_view_event(user: Viewer, event: EventLike) -> bool:
    return can_view_community(user, event.community)


def visible_events_q(user: Viewer, prefix: str = "") -> Q:
    """The list twin of ``can_view_event``, on Event's fields."""
    return Q(**{f"{prefix}community__in": visible_communities(user)})


def get_event_or_404(user: Viewer, queryset: QuerySet[Any, _Event], slug: str, pk: int) -> _Event:
    # A cast until core.db.one_or_none says what its queryset holds.
    event = cast("_Event | None", one_or_none(queryset.select_related("community").filter(pk=pk)))
    if event is None or event.community.slug != slug or not can_view_event(user, event):
        raise Http404("No such event.")
    return event


def can_manage_events(user: Viewer, community: Community) -> bool:
    return can_moderate(user, community)


def can_rsvp(user: Viewer, event: EventLike) -> bool:
    return event.cancelled_at is None and can_post(user, event.community)


# --- Attachments (pictures and files inside posts, resources and events) ----------------


class AttachmentLike(Protocol):
    """What the check reads of attachments' Attachment: the uploader and the item it is in (at most one)."""

    @property
    def uploader_id(self) -> int | None: ...
    @property
    def post(self) -> PostLike | None: ...
    @property
    def resource(self) -> ResourceLike | None: ...
    @property
    def event(self) -> EventLike | None: ...


def can_view_attachment(user: Viewer, attachment: AttachmentLike) -> bool:
    """Exactly who may see the item it is in; before it is in one, its uploader alone.

    A post's picture follows the post: its thread (private community, held
    thread) and its content (held, hidden, deleted).
    """
    if (post := attachment.post) is not None:
        return can_view_thread(user, post.thread) and can_see_post_content(user, post)
    if (resource := attachment.resource) is not None:
        return can_view_resource(user, resource)
    if (event := attachment.event) is not None:
        return can_view_event(user, event)
    return user.is_authenticated and attachment.uploader_id == user.pk
