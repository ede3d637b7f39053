"""Demo communities for `manage.py seed_demo` (idempotent: existing slugs are left alone)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NotRequired, TypedDict

from django.utils import timezone

from accounts.models import User
from communities import participation, services
from communities.models import Activity, Community, LevelSnapshot, Membership


class _DemoCommunity(TypedDict):
    slug: str
    name: str
    domain: str
    description: str
    visibility: str
    join_policy: str
    owner: str  # usernames, of accounts.demo's people
    facilitators: list[str]
    members: list[str]
    pending: NotRequired[list[str]]


COMMUNITIES: list[_DemoCommunity] = [
    {
        "slug": "acute-pain",
        "name": "Acute Pain Practice",
        "domain": "Nurses, doctors and allied clinicians getting better at assessing and relieving acute pain on "
        "the ward, one shift at a time.",
        "description": "We share what works at the bedside: assessment tools that patients understand, "
        "multimodal analgesia plans, and the small changes that made a difference on our wards.\\n\\n"
        "**New here?** Introduce yourself in a thread and tell us about your ward.",
        "visibility": Community.Visibility.OPEN,
        "join_policy": Community.JoinPolicy.OPEN,
        "owner": "amara",
        "facilitators": ["joe"],
        "members": ["tomas", "mei", "hannah", "sam"],
    },
    {
        "slug": "persistent-pain-physio",
        "name": "Persistent Pain & Movement",
        "domain": "Physiotherapists and occupational therapists helping people with persistent pain move with "
        "more confidence.",
        "description": "A place to compare graded-activity plans, pacing conversations and the education "
        "materials our patients actually read. Facilitators approve new members to keep the group practice-based.",
        "visibility": Community.Visibility.OPEN,
        "join_policy": Community.JoinPolicy.APPROVAL,
        "owner": "tomas",
        "facilitators": [],
        "members": ["joe", "amara"],
        "pending": ["hannah"],
    },
    {
        "slug": "pain-case-review",
        "name": "Pain Service Case Review",
        "domain": "Acute and persistent pain teams reviewing hard cases together: what we did, what we'd change.",
        "description": "Cases are discussed among members only. Anyone can find us and ask to join; "
        "a facilitator checks that you work in a pain service.",
        "visibility": Community.Visibility.RESTRICTED,
        "join_policy": Community.JoinPolicy.APPROVAL,
        "owner": "joe",
        "facilitators": [],
        "members": ["amara", "mei"],
        "pending": ["sam"],
    },
    {
        "slug": "opioid-stewardship",
        "name": "Opioid Stewardship Circle",
        "domain": "Pharmacists and prescribers working through difficult tapering cases together, in confidence.",
        "description": "Case discussions stay here. Remove identifying details before you post.",
        "visibility": Community.Visibility.PRIVATE,
        "join_policy": Community.JoinPolicy.INVITE,
        "owner": "mei",
        "facilitators": [],
        "members": ["sam", "amara"],
    },
]

# Demo ledger so every participation level is represented in acute-pain:
# contributions, reactions, visit days over the last weeks.
HISTORIES = {
    "amara": (15, 10, 30),  # core
    "joe": (4, 3, 12),  # active
    "tomas": (0, 2, 5),  # peripheral
    "mei": (0, 0, 1),  # peripheral
    "hannah": (0, 0, 0),  # inactive
    "sam": (1, 0, 3),  # peripheral
}


def seed_communities(users: dict[str, User]) -> list[str]:
    lines = []
    now = timezone.now()
    for spec in COMMUNITIES:
        if Community.objects.filter(slug=spec["slug"]).exists():
            continue
        community = services.create_community(
            users[spec["owner"]],
            name=spec["name"],
            slug=spec["slug"],
            domain=spec["domain"],
            description=spec["description"].replace("\\n", "\n"),
            visibility=spec["visibility"],
            join_policy=spec["join_policy"],
        )
        for username in spec["members"] + spec["facilitators"]:
            Membership.objects.create(user=users[username], community=community, joined_at=now - timedelta(days=120))
        Community.objects.filter(pk=community.pk).update(
            member_count=1 + len(spec["members"]) + len(spec["facilitators"])
        )
        Membership.objects.filter(community=community, user__username__in=spec["facilitators"]).update(
            role=Membership.Role.FACILITATOR
        )
        for username in spec.get("pending", []):
            services.join(users[username], community, "I run a back-pain class at my clinic and would love ideas.")
        _seed_ledger(community, users, now)
        seed_year_of_snapshots(community, now)
        lines.append(f"  community /c/{community.slug}/ ({community.get_visibility_display().split(':')[0].lower()})")
    return lines


def _seed_ledger(community: Community, users: dict[str, User], now: datetime) -> None:
    rows = []
    for username, (contributions, reactions, visit_days) in HISTORIES.items():
        user = users[username]
        if not Membership.objects.filter(community=community, user=user, state=Membership.State.ACTIVE).exists():
            continue
        for i in range(contributions):
            kind = Activity.Kind.THREAD if i % 3 == 0 else Activity.Kind.REPLY
            rows.append(Activity(community=community, user=user, kind=kind, day=(now - timedelta(days=i * 5)).date()))
        for i in range(reactions):
            day = (now - timedelta(days=i * 7)).date()
            rows.append(Activity(community=community, user=user, kind=Activity.Kind.REACTION, day=day))
        for i in range(visit_days):
            day = (now - timedelta(days=i * 2)).date()
            rows.append(Activity(community=community, user=user, kind=Activity.Kind.VISIT, day=day))
    Activity.objects.bulk_create(rows, ignore_conflicts=True)
    for username, (_c, _r, visit_days) in HISTORIES.items():
        if visit_days:
            Membership.objects.filter(community=community, user=users[username]).update(last_seen_on=now.date())
    counts = participation.compute_levels(community, now=now)
    # A plausible history for the dashboard chart: the group grew over 12 weeks.
    this_week = now.date() - timedelta(days=now.date().weekday())
    total = sum(counts.values())
    for weeks_ago in range(1, 12):
        scale = max(0.3, 1 - weeks_ago * 0.06)
        LevelSnapshot.objects.get_or_create(
            community=community,
            week=this_week - timedelta(weeks=weeks_ago),
            defaults={
                "core": round(counts["core"] * scale),
                "active": round(counts["active"] * scale),
                "peripheral": round(counts["peripheral"] * scale),
                "inactive": max(0, total - round(total * scale)),
            },
        )


def seed_year_of_snapshots(community: Community, now: datetime) -> None:
    """Weekly level counts for the year before the last 12 weeks, so the health page's chart has a history:
    a small group that grew, with a summer dip. Weeks that have a snapshot already are left alone."""
    this_week = now.date() - timedelta(days=now.date().weekday())
    latest = LevelSnapshot.objects.filter(community=community).order_by("-week").first()
    base = (
        {level: getattr(latest, level, 0) for level in participation.LEVELS}
        if latest
        else dict.fromkeys(participation.LEVELS, 1)
    )
    rows = []
    for weeks_ago in range(12, 53):
        scale = max(0.25, 1 - weeks_ago * 0.012) * (0.85 if 26 <= weeks_ago <= 34 else 1)
        rows.append(
            LevelSnapshot(
                community=community,
                week=this_week - timedelta(weeks=weeks_ago),
                core=round(base["core"] * scale),
                active=round(base["active"] * scale),
                peripheral=round(base["peripheral"] * scale),
                inactive=round(base["inactive"] * (1 + weeks_ago * 0.01)),
            )
        )
    LevelSnapshot.objects.bulk_create(rows, ignore_conflicts=True)


# --- Newcomers: expertise, buddies, first contributions -----------------------------------------

# Who says what they know in the first demo community (tags of its threads and resources, as found).
DEMO_EXPERTISE = {"amara": 3, "joe": 2, "sam": 1}


def seed_newcomers(users: dict[str, User]) -> list[str]:
    """Expertise in the member directory, buddies in the first community, and newcomers left to start.

    Runs after the threads and resources are seeded (their tags are the vocabulary). The demo ledger
    was written row by row, so members who contributed there get their first contribution's date
    from it; Tomás and Mei, who never contributed, stay newcomers and are shown ways to start;
    Mei gets Amara as her buddy. Idempotent: expertise is set as it is, a pairing made once.
    """
    from communities import expertise

    community = Community.objects.filter(slug=COMMUNITIES[0]["slug"]).first()
    if community is None:
        return []
    for membership in Membership.objects.filter(
        community__slug__in=[spec["slug"] for spec in COMMUNITIES], first_contributed_at__isnull=True
    ):
        first = (
            Activity.objects.filter(
                community_id=membership.community_id,
                user_id=membership.user_id,
                kind__in=["thread", "reply", "resource", "value"],
            )
            .order_by("created_at")
            .values_list("created_at", flat=True)
            .first()
        )
        if first is not None:
            Membership.objects.filter(pk=membership.pk).update(first_contributed_at=first)
    vocabulary = expertise.vocabulary(community)
    for offset, (username, count) in enumerate(DEMO_EXPERTISE.items()):
        chosen = vocabulary[offset * 2 : offset * 2 + count]
        if chosen and username in users:
            services.set_expertise(users[username], community, chosen)
    lines = []
    if not community.buddies:
        Community.objects.filter(pk=community.pk).update(buddies=True)
        community.buddies = True
        mei = Membership.objects.filter(community=community, user=users["mei"]).first()
        if mei is not None and mei.buddy_id is None:
            Membership.objects.filter(community=community, user=users["amara"]).update(level=Membership.Level.CORE)
            services.pair_buddy(users["amara"], community, mei.pk, users["amara"].username)
        lines.append(f"  buddies and expertise in /c/{community.slug}/members/")
    return lines
