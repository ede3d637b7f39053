"""What communities reads: a community with the reader's membership, the facilitators, the directory, the dashboard.

Two statements are written out in SQL (``core.db.Columns``), each with the
measurement that keeps it beside it; the rest is the ORM. Who may see a
community is decided in ``policy`` (``visible_communities``, ``can_view_community``),
which calls ``community_and_membership`` for its look-up.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    FilteredRelation,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.functions import JSONObject, Lower

from accounts.models import NAME_FIELDS, User, Viewer
from communities.models import (
    AuditEntry,
    Ban,
    Community,
    CommunityRequest,
    Invitation,
    MemberExpertise,
    Membership,
    Subgroup,
    SubgroupMembership,
)
from core.db import Columns, M, fetch_all, one_or_none

# The community and the reader's membership in one statement: every community
# page asks for both. Its ORM twin (a FilteredRelation on memberships,
# select_related): a community's page for a member, ORM 4.22 ms vs SQL 3.60 ms
# CPU per request (+17 %; instructions 28.0 M vs 22.8 M, +23 %); for a visitor
# +3 % (instructions +8 %); bench/cpu.py --batches 5 (quickest of 13 runs) and bench/instructions.py, 2026-12-02.
_COMMUNITY_COLUMNS = Columns(Community, "c")
_MEMBERSHIP_COLUMNS = Columns(Membership, "m")
_COMMUNITY_SQL = (
    f"SELECT {_COMMUNITY_COLUMNS.sql}, {_MEMBERSHIP_COLUMNS.sql} FROM {Community._meta.db_table} c"  # noqa: S608
    f" LEFT JOIN {Membership._meta.db_table} m ON m.community_id = c.id AND m.user_id = %s WHERE c.slug = %s"
)


def community_and_membership(slug: str, user: Viewer) -> tuple[Community | None, Membership | None]:
    """The community at ``slug`` and ``user``'s membership of it (any state), in one query."""
    viewer = user.pk if user.is_authenticated else None
    rows = fetch_all(_COMMUNITY_SQL, [viewer, slug])
    if not rows:
        return None, None
    return _COMMUNITY_COLUMNS.build_present(rows[0]), _MEMBERSHIP_COLUMNS.build(rows[0], _COMMUNITY_COLUMNS.width)


def with_viewer_membership(rows: QuerySet[M], user: Viewer) -> QuerySet[M]:
    """``rows`` (of a model with a ``community``) with ``user``'s membership of each row's community
    joined in, as ``viewer_membership`` (None when there is none): ``viewer_membership`` reads it."""
    if not user.is_authenticated:
        return rows
    joined = FilteredRelation("community__memberships", condition=Q(community__memberships__user_id=user.pk))
    joined_rows: QuerySet[M] = rows.select_related("community").annotate(viewer_membership=joined)
    return joined_rows.select_related("viewer_membership")


def viewer_membership(row: object) -> Membership | None:
    """The membership ``with_viewer_membership`` joined to ``row`` (None when the viewer has none)."""
    membership = getattr(row, "viewer_membership", None)
    return membership if isinstance(membership, Membership) else None


# The people who look after a community, as its page names them. Its ORM twin
# (select_related("user"), only): a community's page, ORM 3.14 ms vs SQL 2.61 ms
# CPU per request (+20 %; instructions 21.8 M vs 18.3 M, +19 %); bench/cpu.py
# --batches 5 (quickest of 13 runs) and bench/instructions.py, 2026-12-02. Kept
# although the instructions say just under 20 %: the page already pays +10 % for
# its upcoming events through the ORM, and together they would cost it more than
# the 20 % its lead over Spirit (2.5 times as many requests, the bar being 2) allows.
SHOWN_FACILITATORS = 12
_FACILITATOR_COLUMNS = Columns(Membership, "m", fields=["user", "community", "role", "state", "joined_at"])
_PERSON_COLUMNS = Columns(User, "u", fields=NAME_FIELDS)
_FACILITATORS_SQL = (
    f"SELECT {_FACILITATOR_COLUMNS.sql}, {_PERSON_COLUMNS.sql} FROM {Membership._meta.db_table} m"  # noqa: S608
    f" JOIN {User._meta.db_table} u ON u.id = m.user_id"
    " WHERE m.community_id = %s AND m.state = %s AND m.role IN (%s, %s)"
    " ORDER BY m.role DESC, m.joined_at LIMIT %s"
)


def facilitators_of(community: Community) -> list[Membership]:
    """Owners, then facilitators, longest-serving first (memberships with ``user`` loaded)."""
    Role = Membership.Role
    rows = fetch_all(
        _FACILITATORS_SQL, [community.pk, Membership.State.ACTIVE, Role.OWNER, Role.FACILITATOR, SHOWN_FACILITATORS]
    )
    shown = []
    for row in rows:
        membership = _FACILITATOR_COLUMNS.build_present(row)
        membership.community = community
        membership.user = _PERSON_COLUMNS.build_present(row, _FACILITATOR_COLUMNS.width)
        shown.append(membership)
    return shown


# --- The directory ------------------------------------------------------------------------


def directory(listed: QuerySet[Community], search: str = "", *, viewer: Viewer | None = None) -> QuerySet[Community]:
    """The directory, liveliest first: ``listed`` (``policy.listed_communities``) matching ``search``
    by name or domain statement; each annotated with ``viewer_state``, the viewer's membership state (or None)."""
    if search:
        listed = listed.filter(Q(name__icontains=search) | Q(domain__icontains=search))
    if viewer is not None and viewer.is_authenticated:
        state = Membership.objects.filter(community=OuterRef("pk"), user=viewer.pk).values("state")[:1]
        listed = listed.annotate(viewer_state=Subquery(state))
    else:
        listed = listed.annotate(viewer_state=Value(None, output_field=CharField()))
    return listed.order_by("-last_activity_at", "name")


def active_memberships_of(user: User) -> list[Membership]:
    """``user``'s memberships in good standing, by community name, with the community (email preferences)."""
    rows = Membership.objects.filter(user=user, state=Membership.State.ACTIVE).select_related("community")
    return list(rows.order_by("community__name"))


def membership_with_community(user_id: int, community_id: int) -> Membership | None:
    """The membership (any state) of one person in one community, with the community."""
    return one_or_none(
        Membership.objects.select_related("community").filter(user_id=user_id, community_id=community_id)
    )


# --- The facilitator dashboard --------------------------------------------------------------

# Participation levels in their own order (core first), for sorting members by level.
LEVEL_ORDER = Case(
    *[When(level=level, then=Value(i)) for i, level in enumerate(Membership.Level.values)],
    output_field=IntegerField(),
)


def pending_requests(community: Community) -> QuerySet[Membership]:
    """Requests to join, oldest first, with the person."""
    return (
        Membership.objects.filter(community=community, state=Membership.State.PENDING)
        .select_related("user")
        .order_by("requested_at")
    )


def pending_count(community: Community) -> int:
    return Membership.objects.filter(community=community, state=Membership.State.PENDING).count()


def active_members(community: Community, level: str = "") -> QuerySet[Membership]:
    """Active members (at ``level``, if one is given), by level, then the most recently seen, with the person."""
    members = Membership.objects.filter(community=community, state=Membership.State.ACTIVE).select_related(
        "user", "buddy"
    )
    if level:
        members = members.filter(level=level)
    return members.annotate(level_rank=LEVEL_ORDER).order_by("level_rank", "-last_seen_on", "user__username")


def banned_members(community: Community) -> QuerySet[Membership]:
    """The banned, each with the ban in force (``bans_in_force``: a list of at most one)."""
    in_force = Prefetch("bans", queryset=Ban.objects.filter(lifted_at__isnull=True), to_attr="bans_in_force")
    return (
        Membership.objects.filter(community=community, state=Membership.State.BANNED)
        .select_related("user")
        .prefetch_related(in_force)
        .order_by("user__username")
    )


def member_in(community: Community, membership_id: int) -> Membership | None:
    """One membership of ``community`` with its person (the confirm pages)."""
    return Membership.objects.filter(pk=membership_id, community=community).select_related("user").first()


def audit_log(community: Community, *, action: str = "", person: str = "") -> QuerySet[AuditEntry]:
    """The community's audit entries, newest first, with who acted and on whom.

    ``action``: that action only; ``person``: a username, entries where they
    acted or were acted on. Paged by the view (audit_comm_created serves both).
    """
    entries = AuditEntry.objects.filter(community=community).select_related("actor", "target_user")
    if action:
        entries = entries.filter(action=action)
    if person:
        entries = entries.filter(Q(actor__username__iexact=person) | Q(target_user__username__iexact=person))
    return entries.order_by("-created_at", "-pk")


def recent_invitations(community: Community, shown: int = 10) -> QuerySet[Invitation]:
    return Invitation.objects.filter(community=community).order_by("-created_at")[:shown]


def recent_audit(community: Community, shown: int = 15) -> QuerySet[AuditEntry]:
    """The community's latest audit entries (newest first, the model's order) with who acted and on whom."""
    return AuditEntry.objects.filter(community=community).select_related("actor", "target_user")[:shown]


# --- The member directory ---------------------------------------------------------------

# Owners, then facilitators, then members.
ROLE_ORDER = Case(
    When(role=Membership.Role.OWNER, then=Value(0)),
    When(role=Membership.Role.FACILITATOR, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)


@dataclass
class DirectoryPage:
    """One page of the member directory and the number of members matching, read in one statement."""

    members: list[Membership]
    total: int
    number: int
    per_page: int

    @property
    def num_pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def member_directory(
    community: Community,
    *,
    search: str = "",
    role: str = "",
    level: str = "",
    tag: str = "",
    page: int = 1,
    per_page: int = 30,
) -> DirectoryPage:
    """Active members of ``community`` matching the filters, owners and facilitators first, then by name.

    The page's rows carry the total (``COUNT(*) OVER ()``), so a page costs one
    query whatever the number of members; each row brings its person's name
    columns and the member's expertise (``Membership.expertise``). Served by
    membership_comm_state_role, and expertise_comm_name for a tag.
    """
    members = Membership.objects.filter(community=community, state=Membership.State.ACTIVE, user__is_active=True)
    if search:
        members = members.filter(Q(user__username__icontains=search) | Q(user__display_name__icontains=search))
    if role:
        members = members.filter(role=role)
    if level:
        members = members.filter(level=level)
    if tag:
        members = members.filter(
            Exists(MemberExpertise.objects.filter(membership=OuterRef("pk"), community=community, name=tag))
        )
    start = (max(page, 1) - 1) * per_page
    rows: list[Membership] = list(
        members.select_related("user")
        .only("community", "user", "role", "level", "expertise", "joined_at", *(f"user__{f}" for f in NAME_FIELDS))
        .annotate(role_rank=ROLE_ORDER, total=Window(Count("pk")))
        .order_by("role_rank", Lower("user__username"))[start : start + per_page]
    )
    for row in rows:
        row.community = community
    total = int(getattr(rows[0], "total", 0)) if rows else 0
    if not rows and page > 1:
        total = members.count()  # past the end: say how many there are (only then a second query)
    return DirectoryPage(members=rows, total=total, number=max(page, 1), per_page=per_page)


# --- @mention suggestions ---------------------------------------------------------------

MENTION_SUGGESTIONS = 8


def mention_suggestions(
    communities: QuerySet[Community], slug: str, prefix: str, *, exclude: int | None = None
) -> list[dict[str, str]] | None:
    """Active members of the community at ``slug`` whose username, display name or a word of it starts
    with ``prefix`` (any case); None if ``communities`` (what the reader may see) has no such community.

    One statement: the community row carries the people as a JSON array, so the
    composer's look-up costs one query after the session and the user. Served by
    the membership index on (community, state, role), then users by primary key.
    """
    match = (
        Q(username__istartswith=prefix) | Q(display_name__istartswith=prefix) | Q(display_name__icontains=f" {prefix}")
    )
    people = (
        User.objects.filter(
            memberships__community=OuterRef("pk"),
            memberships__state=Membership.State.ACTIVE,
            is_active=True,
            deleted_at__isnull=True,
        )
        .filter(match)
        .order_by(Lower("username"))
    )
    if exclude is not None:
        people = people.exclude(pk=exclude)
    shown = people.values(person=JSONObject(username="username", display_name="display_name"))
    found = communities.filter(slug=slug).annotate(people=ArraySubquery(shown[:MENTION_SUGGESTIONS]))
    rows = list(found.values_list("people", flat=True))
    if not rows:
        return None
    return [json.loads(person) if isinstance(person, str) else person for person in rows[0] or []]


# --- Subgroups --------------------------------------------------------------------------


def subgroups_of(community: Community) -> list[Subgroup]:
    """The community's subgroups by name, each with ``member_count`` (its members' list is for facilitators)."""
    return list(
        Subgroup.objects.filter(community=community).annotate(member_count=Count("memberships")).order_by("name")
    )


def subgroups_to_post_in(user: Viewer, community: Community) -> list[Subgroup]:
    """The subgroups of ``community`` that ``user`` belongs to: the thread composer's choices."""
    if not user.is_authenticated:
        return []
    return list(Subgroup.objects.filter(community=community, memberships__user=user).order_by("name"))


def subgroup_or_none(community: Community, slug: str) -> Subgroup | None:
    subgroup = Subgroup.objects.filter(community=community, slug=slug).first()
    if subgroup is not None:
        subgroup.community = community
    return subgroup


def subgroup_members(subgroup: Subgroup) -> list[SubgroupMembership]:
    """Its members by name, with each one's standing in the community (``community_state``)."""
    rows = SubgroupMembership.objects.filter(subgroup=subgroup).select_related("user")
    states = dict(
        Membership.objects.filter(community_id=subgroup.community_id, user_id__in=rows.values("user_id")).values_list(
            "user_id", "state"
        )
    )
    members = sorted(rows, key=lambda m: (m.user.name.lower(), m.user_id))
    for member in members:
        member.community_state = states.get(member.user_id, "")
    return members


def addable_members(subgroup: Subgroup) -> QuerySet[User]:
    """Active members of the subgroup's community (working accounts) who are not in it yet: the "Add" choices."""
    active = Membership.objects.filter(community_id=subgroup.community_id, state=Membership.State.ACTIVE)
    return (
        User.objects.filter(is_active=True, pk__in=active.values("user_id"))
        .exclude(pk__in=SubgroupMembership.objects.filter(subgroup=subgroup).values("user_id"))
        .order_by("display_name", "username")
    )


def subgroup_with_count(subgroup_id: int) -> Subgroup | None:
    """A subgroup with ``member_count``: its members in good standing (active in the community)."""
    active = Membership.objects.filter(community_id=OuterRef("community_id"), state=Membership.State.ACTIVE)
    return (
        Subgroup.objects.filter(pk=subgroup_id)
        .annotate(
            member_count=Count("memberships", filter=Q(memberships__user_id__in=Subquery(active.values("user_id"))))
        )
        .first()
    )


# --- Requests for new communities ---------------------------------------------------------


def has_verified_email(user_id: int) -> bool:
    from allauth.account.models import EmailAddress

    return bool(EmailAddress.objects.filter(user_id=user_id, verified=True).exists())


def community_requests_of(user: User, shown: int = 10) -> list[CommunityRequest]:
    """The person's own requests, newest first, each with the community it became (if any)."""
    return list(CommunityRequest.objects.filter(requester=user).select_related("community")[:shown])


def site_admins_to_tell(exclude: int) -> list[User]:
    """Site admins with a working account and an address, to tell of a request waiting for them (few)."""
    return list(
        User.objects.filter(is_superuser=True, is_active=True, deleted_at__isnull=True)
        .exclude(email="")
        .exclude(pk=exclude)
        .order_by("pk")[:50]
    )


def pending_community_requests() -> list[CommunityRequest]:
    """The site admins' queue, oldest first, with who asked."""
    return list(
        CommunityRequest.objects.filter(state=CommunityRequest.State.PENDING)
        .select_related("requester")
        .order_by("created_at")[:200]
    )


def decided_community_requests(shown: int = 20) -> list[CommunityRequest]:
    return list(
        CommunityRequest.objects.exclude(state=CommunityRequest.State.PENDING)
        .select_related("requester", "decided_by", "community")
        .order_by("-decided_at")[:shown]
    )


def community_name_taken(name: str, among: QuerySet[Community] | None = None, exclude: int | None = None) -> bool:
    """Whether a community (of ``among``, else any) already has this name, ignoring case and spacing."""
    rows = (among if among is not None else Community.objects.all()).filter(name__iexact=" ".join(name.split()))
    if exclude is not None:
        rows = rows.exclude(pk=exclude)
    return rows.exists()


def slug_taken(slug: str) -> bool:
    return Community.objects.filter(slug=slug).exists()
