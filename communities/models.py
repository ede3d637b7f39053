from __future__ import annotations

import operator
from functools import reduce

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone


class Cadence(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"
    OFF = "off", "Off"


class WatchLevel(models.TextChoices):
    """How closely a member follows a thread or a community: Discourse's notification levels.

    Watching: told of every new post. Watching new threads (communities only):
    told of each new thread, not of its replies. Tracking: unread counts in
    lists, told of replies to you and mentions. Normal: told of replies to you
    and mentions. Muted: never in lists, digests or notifications, not even
    for a mention. discussions/models.py says how a thread's level and its
    community's combine.
    """

    WATCHING = "watching", "Watching"
    WATCHING_FIRST_POST = "watching_first_post", "Watching new threads"
    TRACKING = "tracking", "Tracking"
    NORMAL = "normal", "Normal"
    MUTED = "muted", "Muted"


# What a community level means, in one line each, as the watching control on its page says it.
COMMUNITY_LEVEL_HELP = {
    WatchLevel.WATCHING: "Be told about every new post in every thread here.",
    WatchLevel.WATCHING_FIRST_POST: "Be told about each new thread, not about its replies.",
    WatchLevel.TRACKING: "See unread counts for its threads; be told when someone replies to you or mentions you.",
    WatchLevel.NORMAL: "Be told only when someone replies to you or mentions you.",
    WatchLevel.MUTED: "Keep its threads out of your other lists and your digests; never be told about them.",
}


class Visibility(models.TextChoices):
    """Who sees a community, from the most open to the most closed (``VISIBILITY_ORDER``).

    Open: anyone reads everything, members post. Restricted: anyone finds it
    (directory, site search, its front page with the domain statement and the
    facilitators) and may ask to join; its threads, resources, events, members
    and files are for members. Private: invisible to everyone outside it.
    """

    OPEN = "open", "Open: anyone can read, members post"
    RESTRICTED = "restricted", "Restricted: anyone can find it and ask to join, only members read it"
    PRIVATE = "private", "Private: only members see anything, even its name"


class JoinPolicy(models.TextChoices):
    OPEN = "open", "Open: anyone can join"
    APPROVAL = "approval", "On request: facilitators approve"
    INVITE = "invite", "By invitation only"


# The one table of (visibility, join policy) pairs a community may have. A private
# community is invisible, so nobody outside could press "Join" or "Ask to join":
# invitations only. A restricted one shows its front page so that people ask to
# join; an open door would hand its members-only content to anyone who clicks.
ALLOWED_JOIN_POLICIES: dict[str, tuple[str, ...]] = {
    Visibility.OPEN: (JoinPolicy.OPEN, JoinPolicy.APPROVAL, JoinPolicy.INVITE),
    Visibility.RESTRICTED: (JoinPolicy.APPROVAL, JoinPolicy.INVITE),
    Visibility.PRIVATE: (JoinPolicy.INVITE,),
}

# Most open first: a change towards the front of this list exposes more (and asks the owner to confirm).
VISIBILITY_ORDER: tuple[str, ...] = (Visibility.OPEN, Visibility.RESTRICTED, Visibility.PRIVATE)


def is_allowed_access(visibility: str, join_policy: str) -> bool:
    return join_policy in ALLOWED_JOIN_POLICIES.get(visibility, ())


def access_refusal(visibility: str, join_policy: str) -> str | None:
    """Why a pair outside ``ALLOWED_JOIN_POLICIES`` can't be, and what would do (None: it can be)."""
    if is_allowed_access(visibility, join_policy):
        return None
    allowed = " or ".join(f"“{JoinPolicy(p).label}”" for p in ALLOWED_JOIN_POLICIES[visibility])
    joining = "take requests to join" if join_policy == JoinPolicy.APPROVAL else "be open to anyone joining"
    if visibility == Visibility.PRIVATE:
        return (
            f"A private community can't {joining}: nobody outside it can see it. Choose {allowed}, "
            "or make it restricted so people can find it and ask to join."
        )
    return (
        f"A restricted community can't {joining}: anyone who clicked would read what is for members. "
        f"Choose {allowed}, or make it open."
    )


def is_more_open(new: str, old: str) -> bool:
    """Whether visibility ``new`` shows more than ``old`` (open > restricted > private)."""
    return VISIBILITY_ORDER.index(new) < VISIBILITY_ORDER.index(old)


def allowed_access_q() -> Q:
    """``ALLOWED_JOIN_POLICIES`` as a condition on Community's fields (its check constraint)."""
    pairs = [Q(visibility=v, join_policy__in=list(policies)) for v, policies in ALLOWED_JOIN_POLICIES.items()]
    return reduce(operator.or_, pairs)


# Addresses no community may take: the site's own pages under /c/ and elsewhere.
RESERVED_SLUGS = {"new", "admin", "api", "static", "media", "search", "settings", "request", "requests"}


class Community(models.Model):
    Visibility = Visibility
    JoinPolicy = JoinPolicy

    name = models.CharField(max_length=80)
    slug = models.SlugField(max_length=60, unique=True)
    domain = models.CharField(
        "domain statement",
        max_length=300,
        help_text="One or two sentences: what this community cares about and gets better at together.",
    )
    description = models.TextField(blank=True, max_length=20_000, help_text="Markdown.")
    description_html = models.TextField(blank=True, editable=False)
    # core.markup.RENDER_VERSION of description_html; rerender_markup picks up rows behind it.
    render_version = models.PositiveSmallIntegerField(default=0, editable=False)
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.OPEN)
    join_policy = models.CharField(max_length=10, choices=JoinPolicy.choices, default=JoinPolicy.OPEN)
    default_cadence = models.CharField(
        "default digest cadence",
        max_length=10,
        choices=[c for c in Cadence.choices if c[0] != Cadence.MONTHLY],
        default=Cadence.WEEKLY,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Denormalized for the directory: kept by communities.services in the
    # same transaction as the membership change.
    member_count = models.PositiveIntegerField(default=0, editable=False)
    last_activity_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The facilitators' welcome, shown to each new member right after joining and emailed once.
    welcome = models.TextField(blank=True, max_length=5_000, help_text="Markdown.")
    welcome_html = models.TextField(blank=True, editable=False)
    # The thread where newcomers introduce themselves. An id, not a foreign key: threads live
    # in an app above this one (communities/welcome.py asks it which threads may be chosen).
    introductions_thread_id = models.PositiveIntegerField(null=True, blank=True)
    buddies = models.BooleanField(
        "pair newcomers with buddies",
        default=False,
        help_text="Facilitators may pair each newcomer with a core or active member, who is told of their first post.",
    )

    class Meta:
        verbose_name_plural = "communities"
        ordering = ["name"]
        indexes = [
            # Directory: visible communities, most recently active first.
            models.Index(fields=["visibility", "-last_activity_at"], name="community_dir_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=allowed_access_q(), name="community_allowed_access"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("communities:detail", kwargs={"slug": self.slug})

    @property
    def is_private(self) -> bool:
        return self.visibility == Visibility.PRIVATE

    @property
    def is_restricted(self) -> bool:
        return self.visibility == Visibility.RESTRICTED

    @property
    def is_open(self) -> bool:
        return self.visibility == Visibility.OPEN


class Membership(models.Model):
    class Role(models.TextChoices):
        MEMBER = "member", "Member"
        FACILITATOR = "facilitator", "Facilitator"
        OWNER = "owner", "Owner"

    class State(models.TextChoices):
        PENDING = "pending", "Pending approval"
        ACTIVE = "active", "Active"
        LEFT = "left", "Left"
        BANNED = "banned", "Banned"

    class Level(models.TextChoices):
        CORE = "core", "Core"
        ACTIVE = "active", "Active"
        PERIPHERAL = "peripheral", "Peripheral"
        INACTIVE = "inactive", "Inactive"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=12, choices=Role.choices, default=Role.MEMBER)
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    requested_at = models.DateTimeField(null=True, blank=True)
    request_message = models.CharField(max_length=500, blank=True)
    joined_at = models.DateTimeField(null=True, blank=True)
    left_at = models.DateTimeField(null=True, blank=True)
    last_seen_on = models.DateField(null=True, blank=True)
    digest_cadence = models.CharField(
        max_length=10, choices=Cadence.choices, blank=True, help_text="Empty: follow the community's default."
    )
    # When the member last chose a cadence: the first digest after it comes at their next delivery hour.
    digest_chosen_at = models.DateTimeField(null=True, blank=True)
    level = models.CharField(max_length=12, choices=Level.choices, default=Level.PERIPHERAL)
    level_pinned = models.BooleanField(default=False, help_text="Set by a facilitator; the nightly task keeps it.")
    level_computed_at = models.DateTimeField(null=True, blank=True)
    # How closely the member follows the community (a WatchLevel). Empty: their role's
    # default (``effective_watch_level``), so a promotion or demotion moves it and a
    # level chosen by hand stays.
    watch_level = models.CharField(max_length=20, choices=WatchLevel.choices, blank=True)
    # The welcome: shown on the member's next page of the community after they join (cleared
    # once seen), and emailed once per membership (kept through leaving and rejoining).
    welcome_due = models.BooleanField(default=False)
    welcome_sent_at = models.DateTimeField(null=True, blank=True)
    # When the member first contributed here (``ledger.CONTRIBUTION_KINDS``): set once, by the
    # conditional UPDATE in ``ledger.record`` that also celebrates it. Empty: a newcomer, shown ways to start.
    first_contributed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The core or active member a facilitator paired this newcomer with (``services.pair_buddy``).
    buddy = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Self-declared expertise: tag names from the community's vocabulary, shown in the member
    # directory; ``MemberExpertise`` holds the same names as rows, for filtering by one.
    expertise = models.JSONField(default=list, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "community"], name="one_membership_per_user_community"),
        ]
        indexes = [
            # Community page and dashboard: active members by role / level.
            models.Index(fields=["community", "state", "role"], name="membership_comm_state_role"),
            # Dashboard: pending requests, oldest first.
            models.Index(fields=["community", "requested_at"], name="membership_pending", condition=Q(state="pending")),
            # "My communities" and policy look-ups by user.
            models.Index(fields=["user", "state"], name="membership_user_state"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.community} ({self.role}, {self.state})"

    @property
    def is_active(self) -> bool:
        return self.state == self.State.ACTIVE

    @property
    def is_facilitator(self) -> bool:
        return self.is_active and self.role in (self.Role.FACILITATOR, self.Role.OWNER)

    @property
    def is_owner(self) -> bool:
        return self.is_active and self.role == self.Role.OWNER

    @property
    def effective_cadence(self) -> str:
        return self.digest_cadence or self.community.default_cadence

    @property
    def effective_watch_level(self) -> str:
        """The level chosen by hand, else the role's: facilitators and owners watch new threads."""
        return self.watch_level or role_watch_level(self.role)

    @staticmethod
    def watch_level_q(*levels: str, prefix: str = "") -> Q:
        """Memberships whose ``effective_watch_level`` is one of ``levels`` (a filter on Membership's fields)."""
        chosen = Q(**{f"{prefix}watch_level__in": levels})
        by_role = [role for role in Membership.Role.values if role_watch_level(role) in levels]
        return chosen | Q(**{f"{prefix}watch_level": "", f"{prefix}role__in": by_role})


def role_watch_level(role: str) -> str:
    """A community's level for someone who never chose one: facilitators and owners hear of every new thread."""
    if role in (Membership.Role.FACILITATOR, Membership.Role.OWNER):
        return WatchLevel.WATCHING_FIRST_POST
    return WatchLevel.NORMAL


class MemberExpertise(models.Model):
    """One expertise tag a member declared (a copy of one name in ``Membership.expertise``), to filter by."""

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="expertise_rows")
    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["membership", "name"], name="one_expertise_per_membership_name"),
        ]
        indexes = [
            # The member directory filtered by one expertise tag.
            models.Index(fields=["community", "name"], name="expertise_comm_name"),
        ]

    def __str__(self) -> str:
        return f"{self.membership_id}: {self.name}"


class Invitation(models.Model):
    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    # The account that signed up through the link with the invited address.
    # Signing up proves nothing about the address (the link may have been
    # forwarded): the invitation is accepted for this account only when the
    # invited address is confirmed from the mail sent to it.
    pending_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["community", "-created_at"], name="invitation_comm_created")]

    def __str__(self) -> str:
        return f"invitation to {self.email} for {self.community}"

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > timezone.now()


class Activity(models.Model):
    """The community's ledger: who did what kind of thing, where, on which day.

    Apps above ``communities`` append to it through ``communities.ledger``;
    participation levels are computed from it alone.
    """

    class Kind(models.TextChoices):
        VISIT = "visit", "visited"
        THREAD = "thread", "started a thread"
        REPLY = "reply", "replied"
        RESOURCE = "resource", "added a resource"
        REACTION = "reaction", "reacted"
        VALUE = "value", "added a value note"

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    day = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "activities"
        constraints = [
            # One visit row per member, community and day: visits cost at most one write a day.
            models.UniqueConstraint(
                fields=["community", "user", "day"], condition=Q(kind="visit"), name="one_visit_per_day"
            ),
        ]
        indexes = [
            # Participation: a community's ledger over the last 90 days, grouped by user.
            models.Index(fields=["community", "day", "user"], name="activity_comm_day_user"),
            # The hourly recompute: which communities had a contribution today or yesterday.
            models.Index(fields=["day", "community"], name="activity_day_comm"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} in {self.community_id} on {self.day}"


class LevelSnapshot(models.Model):
    """Counts of members per participation level, one row per community per week."""

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="level_snapshots")
    week = models.DateField(help_text="Monday of the ISO week.")
    core = models.PositiveIntegerField(default=0)
    active = models.PositiveIntegerField(default=0)
    peripheral = models.PositiveIntegerField(default=0)
    inactive = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["community", "week"]
        constraints = [models.UniqueConstraint(fields=["community", "week"], name="one_snapshot_per_week")]

    def __str__(self) -> str:
        return f"{self.community_id} week of {self.week}"


class AuditEntry(models.Model):
    """What facilitators and admins did, for accountability (later issues add more verbs)."""

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="audit_entries")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=40)
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    detail = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["community", "-created_at"], name="audit_comm_created")]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_id} in {self.community_id}"


class Ban(models.Model):
    """One ban of one member: why, until when, and what their membership was before it.

    The membership row says "banned" while a ban is in force; this row keeps the
    reason and end date shown to facilitators and told to the person, and the
    role and state an unban (by hand, or ``lift_expired_bans`` when ``until``
    passes) gives back. ``lifted_at`` set: the ban is over (kept for the record).
    """

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="bans")
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="bans")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    banned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=500)
    until = models.DateTimeField(null=True, blank=True, help_text="Empty: until a facilitator lifts it.")
    created_at = models.DateTimeField(default=timezone.now)
    previous_role = models.CharField(max_length=12, choices=Membership.Role.choices, default=Membership.Role.MEMBER)
    previous_state = models.CharField(max_length=10, choices=Membership.State.choices, default=Membership.State.ACTIVE)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # At most one ban in force per membership.
            models.UniqueConstraint(
                fields=["membership"], condition=Q(lifted_at__isnull=True), name="one_ban_in_force"
            ),
        ]
        indexes = [
            # The hourly sweep: bans in force whose end date has passed.
            models.Index(fields=["until"], name="ban_expiring_idx", condition=Q(lifted_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"ban of {self.user_id} in {self.community_id}"


class Subgroup(models.Model):
    """A private corner of a community ("case review"): its threads are for its members and the
    community's facilitators. Other members see its name only (and ask a facilitator to join);
    people outside the community see nothing of it. Who may read is decided in ``policy`` alone:
    a membership row counts only while its person is an active member of the community, so
    leaving or a ban ends access without touching these rows.
    """

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="subgroups")
    name = models.CharField(max_length=60)
    slug = models.SlugField(max_length=60)
    description = models.CharField("short description", max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["community", "slug"], name="subgroup_slug_per_community"),
        ]

    def __str__(self) -> str:
        return self.name


class SubgroupMembership(models.Model):
    subgroup = models.ForeignKey(Subgroup, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subgroup_memberships")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now)

    # Not stored: the person's membership state in the community (communities/queries.py).
    community_state: str

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subgroup", "user"], name="one_subgroup_membership"),
        ]
        indexes = [
            # Policy: the subgroups a person is in (visible_threads_q, listed_threads_q).
            models.Index(fields=["user", "subgroup"], name="subgroup_member_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in subgroup {self.subgroup_id}"


class CommunityRequest(models.Model):
    """A member asks for a new community; a site admin approves (the community is created, the
    requester owns it) or declines with a reason. One pending request per person."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting for a site admin"
        APPROVED = "approved", "Approved"
        DECLINED = "declined", "Declined"

    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=80)
    domain = models.CharField("domain statement", max_length=300)
    why = models.TextField(max_length=2_000)
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.OPEN)
    join_policy = models.CharField(max_length=10, choices=JoinPolicy.choices, default=JoinPolicy.OPEN)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    decline_reason = models.CharField(max_length=500, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    community = models.ForeignKey(Community, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["requester"], condition=Q(state="pending"), name="one_pending_community_request"
            ),
            models.CheckConstraint(condition=allowed_access_q(), name="community_request_allowed_access"),
        ]
        indexes = [
            # The site admins' queue: pending requests, oldest first.
            models.Index(fields=["created_at"], name="community_request_pending", condition=Q(state="pending")),
            # The requester's own page: their requests, newest first.
            models.Index(fields=["requester", "-created_at"], name="community_request_mine"),
        ]

    def __str__(self) -> str:
        return f"request for {self.name} by {self.requester_id} ({self.state})"
