"""Reads for the practice loop: a resource's outcomes, its stories, a community's monthly report."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db.models import Count, Max, Q
from django.db.models.functions import TruncMonth

from accounts.models import NAME_FIELDS, Viewer
from communities import policy
from communities.models import Community
from practice.models import Commitment, ReportBack
from resources.models import Resource

Outcome = ReportBack.Outcome
STORIES_SHOWN = 10


@dataclass
class Mine:
    """The viewer's own commitment to the resource, as its page shows it."""

    note: str
    try_by: date | None
    answered_at: datetime | None
    outcome: str | None

    @property
    def outcome_label(self) -> str:
        return Outcome(self.outcome).label if self.outcome else ""


@dataclass
class Outcomes:
    """How the loop went for one resource: committed, answered, each answer's count, and the viewer's own."""

    committed: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    mine: Mine | None = None

    @property
    def reported(self) -> int:
        return sum(self.counts.values())

    @property
    def tried(self) -> int:
        return sum(self.counts.get(o, 0) for o in ReportBack.TRIED)

    def rows(self) -> list[tuple[str, str, int]]:
        """(outcome, label, count) for every answer, in the form's order."""
        return [(value, label, self.counts.get(value, 0)) for value, label in Outcome.choices]


def outcomes(resource: Resource, viewer: Viewer) -> Outcomes:
    """One query: the resource's commitments, the count of each answer, and the viewer's own commitment.

    The viewer's columns are aggregates over their one row (one commitment per
    person and resource), so the page needs no second query for them.
    """
    aggregates: dict[str, Any] = {value: Count("report", filter=Q(report__outcome=value)) for value in Outcome.values}
    if viewer.is_authenticated:
        own = Q(user_id=viewer.pk)
        aggregates |= {
            "mine": Max("pk", filter=own),
            "mine_note": Max("note", filter=own),
            "mine_try_by": Max("try_by", filter=own),
            "mine_answered_at": Max("answered_at", filter=own),
            "mine_outcome": Max("report__outcome", filter=own),
        }
    row = Commitment.objects.filter(resource=resource).aggregate(committed=Count("pk"), **aggregates)
    mine = None
    if row.get("mine") is not None:
        mine = Mine(row["mine_note"], row["mine_try_by"], row["mine_answered_at"], row["mine_outcome"])
    counts = {value: row[value] for value in Outcome.values if row[value]}
    return Outcomes(committed=row["committed"], counts=counts, mine=mine)


def stories(resource: Resource, viewer: Viewer, limit: int = STORIES_SHOWN) -> list[ReportBack]:
    """The newest stories told about ``resource`` whose reply ``viewer`` may read (held, hidden, deleted: not)."""
    return list(
        ReportBack.objects.filter(resource=resource, post__isnull=False)
        .exclude(story="")
        .filter(policy.readable_posts_q(viewer, "post__"))
        .select_related("user")
        .only("pk", "outcome", "story", "post_id", "created_at", "user__id", *(f"user__{f}" for f in NAME_FIELDS))
        .order_by("-created_at")[:limit]
    )


def commitment_of(resource: Resource, user: Viewer) -> Commitment | None:
    if not user.is_authenticated:
        return None
    return Commitment.objects.filter(resource=resource, user=user).select_related("report").first()


def commitment_for_thread(user: Viewer, thread_id: int) -> Commitment | None:
    """``user``'s commitment to the resource discussed in ``thread_id`` (the ask's link), if any."""
    if not user.is_authenticated:
        return None
    return (
        Commitment.objects.filter(user=user, resource__thread_id=thread_id)
        .select_related("resource__community", "report")
        .first()
    )


@dataclass
class MonthRow:
    resource_id: int
    title: str
    month: date
    committed: int = 0
    reported: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, outcome: str) -> int:
        return self.counts.get(outcome, 0)


def monthly_report(community: Community) -> list[MonthRow]:
    """Per resource and month: commitments made, report-backs given and their outcomes (two queries).

    Commitments count in the month they were made, report-backs in the month
    they were given. Newest month first, then by resource title.
    """
    rows: dict[tuple[int, date], MonthRow] = {}

    def row(resource_id: int, title: str, month: datetime | date) -> MonthRow:
        key = (resource_id, month.date() if isinstance(month, datetime) else month)
        if key not in rows:
            rows[key] = MonthRow(resource_id, title, key[1])
        return rows[key]

    for item in (
        Commitment.objects.filter(resource__community=community)
        .annotate(month=TruncMonth("created_at"))
        .values("resource_id", "resource__title", "month")
        .annotate(n=Count("pk"))
    ):
        row(item["resource_id"], item["resource__title"], item["month"]).committed = item["n"]
    for item in (
        ReportBack.objects.filter(resource__community=community)
        .annotate(month=TruncMonth("created_at"))
        .values("resource_id", "resource__title", "month", "outcome")
        .annotate(n=Count("pk"))
    ):
        target = row(item["resource_id"], item["resource__title"], item["month"])
        target.counts[item["outcome"]] = item["n"]
        target.reported += item["n"]
    return sorted(rows.values(), key=lambda r: (-r.month.toordinal(), r.title.lower(), r.resource_id))


def monthly_totals(rows: list[MonthRow]) -> list[MonthRow]:
    """The same rows summed over resources: one per month, oldest first (the chart)."""
    months: dict[date, MonthRow] = {}
    for r in rows:
        total = months.setdefault(r.month, MonthRow(0, "", r.month))
        total.committed += r.committed
        total.reported += r.reported
        merged: dict[str, int] = defaultdict(int, total.counts)
        for k, v in r.counts.items():
            merged[k] += v
        total.counts = dict(merged)
    return [months[m] for m in sorted(months)]
