"""Participation levels, computed nightly from the community's ledger.

How a member's level is decided (over the last ``PARTICIPATION_WINDOW_DAYS``
days, 90 by default, counting today and the 90 days before it — an activity
dated exactly 90 days ago counts, one dated 91 days ago does not):

* **core**: at least 12 contributions (threads started, replies, resources added, value notes);
* **active**: at least 2 contributions, or at least 10 reactions given;
* **peripheral**: visited on at least 1 day, or made any contribution or reaction;
* **inactive**: none of the above.

The numbers are settings (``PARTICIPATION_CORE_CONTRIBUTIONS``,
``PARTICIPATION_ACTIVE_CONTRIBUTIONS``, ``PARTICIPATION_ACTIVE_REACTIONS``,
``PARTICIPATION_PERIPHERAL_VISIT_DAYS``); :func:`level_rules` describes the
rule with the numbers in force, for the facilitators' dashboard.

Only active memberships have a level. A level pinned by a facilitator
(``level_pinned``) is never overwritten here, and is counted at its pinned
value in the weekly snapshot. Days are UTC days, as in ``communities.ledger``.
"""

from __future__ import annotations

import datetime
import logging
import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from communities import signals
from communities.ledger import CONTRIBUTION_KINDS
from communities.models import Activity, Community, LevelSnapshot, Membership

log = logging.getLogger(__name__)

Level = Membership.Level
# Plain strings (not enum members) so counts and rows compare and serialize simply.
LEVELS: tuple[str, ...] = (Level.CORE.value, Level.ACTIVE.value, Level.PERIPHERAL.value, Level.INACTIVE.value)

# Ids per UPDATE ... WHERE id IN (...): below SQLite's conservative 999
# parameter limit, so a huge community never fails the nightly run.
UPDATE_CHUNK = 500


@dataclass(frozen=True)
class LevelMove:
    """One member's computed level changing from ``old`` to ``new`` (sent with ``signals.levels_changed``)."""

    membership_id: int
    user_id: int
    old: str
    new: str


@dataclass(frozen=True)
class Thresholds:
    window_days: int = 90
    core_contributions: int = 12
    active_contributions: int = 2
    active_reactions: int = 10
    peripheral_visit_days: int = 1


def thresholds() -> Thresholds:
    """The thresholds in force (settings, read at call time so tests can override them)."""
    return Thresholds(
        window_days=getattr(settings, "PARTICIPATION_WINDOW_DAYS", 90),
        core_contributions=getattr(settings, "PARTICIPATION_CORE_CONTRIBUTIONS", 12),
        active_contributions=getattr(settings, "PARTICIPATION_ACTIVE_CONTRIBUTIONS", 2),
        active_reactions=getattr(settings, "PARTICIPATION_ACTIVE_REACTIONS", 10),
        peripheral_visit_days=getattr(settings, "PARTICIPATION_PERIPHERAL_VISIT_DAYS", 1),
    )


def classify(contributions: int, reactions: int, visit_days: int, *, rules: Thresholds | None = None) -> str:
    """The level for one member's counts over the window (see the module docstring)."""
    rules = rules or thresholds()
    if contributions >= rules.core_contributions:
        return Level.CORE.value
    if contributions >= rules.active_contributions or reactions >= rules.active_reactions:
        return Level.ACTIVE.value
    if visit_days >= rules.peripheral_visit_days or contributions > 0 or reactions > 0:
        return Level.PERIPHERAL.value
    return Level.INACTIVE.value


@dataclass(frozen=True)
class LevelRule:
    level: str
    label: str
    text: str


def level_rules(rules: Thresholds | None = None) -> list[LevelRule]:
    """One plain sentence per level with the current numbers, for the dashboard."""
    r = rules or thresholds()

    def n(count: int, word: str) -> str:
        return f"{count} {word}{'' if count == 1 else 's'}"

    return [
        LevelRule(Level.CORE, Level.CORE.label, f"{n(r.core_contributions, 'contribution')} or more"),
        LevelRule(
            Level.ACTIVE,
            Level.ACTIVE.label,
            f"{n(r.active_contributions, 'contribution')} or more, or {n(r.active_reactions, 'reaction')} given",
        ),
        LevelRule(
            Level.PERIPHERAL,
            Level.PERIPHERAL.label,
            f"visited on {n(r.peripheral_visit_days, 'day')} or more, or any contribution or reaction",
        ),
        LevelRule(Level.INACTIVE, Level.INACTIVE.label, "no visits, contributions or reactions"),
    ]


def level_rules_text(rules: Thresholds | None = None) -> str:
    """The rule as one short paragraph, e.g. for a ``<p>`` under the chart."""
    r = rules or thresholds()
    parts = "; ".join(f"{rule.label}: {rule.text}" for rule in level_rules(r))
    return (
        f"Levels count the last {r.window_days} days (contributions are threads started, replies, "
        f"resources added and value notes). {parts}. Levels pinned by a facilitator are kept."
    )


def window(now: datetime.datetime, days: int) -> tuple[datetime.date, datetime.date]:
    """First and last day (inclusive) of the window ending on ``now``'s UTC day."""
    today = now.astimezone(datetime.UTC).date()
    return today - datetime.timedelta(days=days), today


def week_of(day: datetime.date) -> datetime.date:
    """Monday of ``day``'s ISO week."""
    return day - datetime.timedelta(days=day.weekday())


def compute_levels(community: Community, *, now: datetime.datetime | None = None) -> dict[str, int]:
    """Recompute the levels of a community's active members and write this week's snapshot.

    A fixed number of queries whatever the community's size (one ledger
    aggregate, one membership read, at most one UPDATE per level per
    ``UPDATE_CHUNK`` changed members, the snapshot upsert). Returns the count
    of active members per level, pinned members counted at their pinned level.
    Safe to run twice: the second run changes nothing but the timestamps.
    """
    now = now or timezone.now()
    rules = thresholds()
    first_day, last_day = window(now, rules.window_days)
    kind = Activity.Kind
    with transaction.atomic():
        # Served by activity_comm_day_user (community, day, user).
        per_user = (
            Activity.objects.filter(community_id=community.pk, day__gte=first_day, day__lte=last_day)
            .order_by()
            .values("user_id")
            .annotate(
                contributions=Count("id", filter=Q(kind__in=CONTRIBUTION_KINDS)),
                reactions=Count("id", filter=Q(kind=kind.REACTION)),
                visit_days=Count("day", filter=Q(kind=kind.VISIT), distinct=True),
            )
        )
        counts_by_user = {
            row["user_id"]: (row["contributions"], row["reactions"], row["visit_days"]) for row in per_user
        }
        members = Membership.objects.filter(community_id=community.pk, state=Membership.State.ACTIVE).values_list(
            "pk", "user_id", "level", "level_pinned", "level_computed_at"
        )
        totals = dict.fromkeys(LEVELS, 0)
        to_set: dict[str, list[int]] = defaultdict(list)
        moves: list[LevelMove] = []
        for pk, user_id, current, pinned, computed_at in members:
            if pinned:
                totals[current] = totals.get(current, 0) + 1
                continue
            level = classify(*counts_by_user.get(user_id, (0, 0, 0)), rules=rules)
            totals[level] += 1
            # Unchanged rows are left alone (no write, no dead tuple); a
            # never-computed row is written once so the dashboard can tell
            # "computed: peripheral" from the model's default.
            if level != current or computed_at is None:
                to_set[level].append(pk)
                # A first computation is not a move: the default level was never anyone's.
                if computed_at is not None:
                    moves.append(LevelMove(pk, user_id, current, level))
        for level, pks in to_set.items():
            for start in range(0, len(pks), UPDATE_CHUNK):
                # level_pinned=False again here: a facilitator who pins a level
                # while this runs wins over the computed one.
                Membership.objects.filter(pk__in=pks[start : start + UPDATE_CHUNK], level_pinned=False).update(
                    level=level, level_computed_at=now
                )
        LevelSnapshot.objects.update_or_create(
            community_id=community.pk,
            week=week_of(last_day),
            defaults={**{level: totals[level] for level in LEVELS}, "computed_at": now},
        )
        if moves:
            # Receivers (insights keeps a history of moves) write in this transaction.
            signals.levels_changed.send(sender=Community, community_id=community.pk, changes=moves, at=now)
    return {level: totals[level] for level in LEVELS}


def recompute_recent(now: datetime.datetime | None = None) -> int:
    """The hourly run: recompute only the communities where someone contributed today or yesterday
    (yesterday too, so a contribution just before midnight is not missed), so a member whose posts
    carry them past a threshold moves level within the hour. The nightly ``recompute_all`` still
    covers everyone (levels also fall as old activity leaves the window). Returns how many were computed.
    """
    now = now or timezone.now()
    _, today = window(now, 0)  # the ledger's days are UTC days
    # Served by activity_day_comm (day, community).
    recent = (
        Activity.objects.filter(day__gte=today - datetime.timedelta(days=1), kind__in=CONTRIBUTION_KINDS)
        .order_by("community_id")
        .values_list("community_id", flat=True)
        .distinct()
    )
    return _recompute(list(recent), now)


def recompute_all(now: datetime.datetime | None = None) -> int:
    """Recompute every community, one transaction each; returns how many were computed.

    One community's failure is logged and does not stop the others; the
    nightly run tries it again tomorrow.
    """
    now = now or timezone.now()
    # A plain list, not .iterator(): no cursor held open across the commits in _recompute.
    return _recompute(list(Community.objects.order_by("pk").values_list("pk", flat=True)), now)


def _recompute(community_ids: list[int], now: datetime.datetime) -> int:
    done = 0
    failed = 0
    for pk in community_ids:
        try:
            compute_levels(Community(pk=pk), now=now)
        except DatabaseError:
            # E.g. the community was deleted mid-run. Only database errors:
            # Celery's soft time limit must still stop the whole run.
            failed += 1
            log.exception("participation: community %s failed", pk)
        else:
            done += 1
    log.info("participation: %s communities computed, %s failed", done, failed)
    return done


class WeeklySeries(list):
    """``weekly_series``'s rows (a plain list of dicts) plus the chart drawn from them.

    The ``_level_chart.html`` partial needs only ``series``; the geometry is
    computed here, once, because templates should not do arithmetic.
    """

    community_id: int | None = None

    @property
    def chart(self) -> dict[str, Any]:
        if not hasattr(self, "_chart"):
            self._chart = chart_geometry(self, chart_id=f"level-chart-{self.community_id or 'x'}")
        return self._chart


def weekly_series(community: Community, weeks: int = 12, *, today: datetime.date | None = None) -> WeeklySeries:
    """The last ``weeks`` weekly snapshots, oldest first, in one query.

    Each row: ``week`` (a Monday), ``core``/``active``/``peripheral``/``inactive``
    and ``total`` (``None`` when no snapshot exists for that week) and
    ``missing`` (True for such weeks, e.g. before the community existed or a
    week the nightly task did not run).
    """
    today = today or timezone.now().date()
    last = week_of(today)
    mondays = [last - datetime.timedelta(weeks=weeks - 1 - i) for i in range(weeks)]
    found = {
        snap["week"]: snap
        for snap in LevelSnapshot.objects.filter(
            community_id=community.pk, week__gte=mondays[0] if mondays else last, week__lte=last
        ).values("week", *LEVELS)
    }
    series = WeeklySeries()
    series.community_id = community.pk
    for monday in mondays:
        snap = found.get(monday)
        if snap is None:
            series.append({"week": monday, **dict.fromkeys(LEVELS), "total": None, "missing": True})
        else:
            counts = {level: snap[level] for level in LEVELS}
            series.append({"week": monday, **counts, "total": sum(counts.values()), "missing": False})
    return series


# --- Chart geometry ---------------------------------------------------------

# Colours with ≥ 3:1 contrast on white, #f5f6f8 and the dark theme's #14171c,
# #16181d and #1c2027; dash patterns and marker shapes carry the same
# distinction for anyone who cannot tell the colours apart.
LEVEL_STYLE: dict[str, dict[str, str]] = {
    Level.CORE: {"colour": "#2f7bd9", "dash": "", "marker": "circle"},
    Level.ACTIVE: {"colour": "#c75a00", "dash": "8 4", "marker": "square"},
    Level.PERIPHERAL: {"colour": "#8a63d2", "dash": "3 3", "marker": "triangle"},
    Level.INACTIVE: {"colour": "#737b86", "dash": "12 3 2 3", "marker": "diamond"},
}
MARKER_SIZE = 3.5
MARGIN = {"left": 40, "right": 26, "top": 34, "bottom": 30}


def nice_step(peak: int, max_ticks: int = 4) -> int:
    """An integer tick step from 1, 2, 5 × 10ⁿ giving at most ``max_ticks`` steps up to ``peak``."""
    raw = max(peak, 1) / max_ticks
    magnitude = 10 ** max(0, math.floor(math.log10(raw))) if raw >= 1 else 1
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= raw:
            return factor * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def _fmt(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _marker_points(shape: str, x: float, y: float, r: float = MARKER_SIZE) -> str:
    if shape == "square":
        corners = [(x - r, y - r), (x + r, y - r), (x + r, y + r), (x - r, y + r)]
    elif shape == "triangle":
        corners = [(x, y - r * 1.2), (x + r * 1.1, y + r * 0.8), (x - r * 1.1, y + r * 0.8)]
    else:  # diamond
        corners = [(x, y - r * 1.3), (x + r * 1.3, y), (x, y + r * 1.3), (x - r * 1.3, y)]
    return " ".join(f"{_fmt(cx)},{_fmt(cy)}" for cx, cy in corners)


def chart_geometry(
    series: list[dict[str, Any]], width: int = 640, height: int = 220, *, chart_id: str = "level-chart"
) -> dict[str, Any]:
    """Everything the SVG partial draws, as ready-made numbers and strings.

    Missing weeks break a line instead of dropping it to zero (a gap is not
    "nobody"); an isolated week still shows its marker. All-zero and
    all-missing series draw a 0–1 axis rather than dividing by zero.
    """
    left, right, top, bottom = MARGIN["left"], MARGIN["right"], MARGIN["top"], MARGIN["bottom"]
    plot_w, plot_h = max(width - left - right, 1), max(height - top - bottom, 1)
    present = [row for row in series if not row.get("missing")]
    peak = max((row[level] or 0 for row in present for level in LEVELS), default=0)
    step = nice_step(peak)
    y_max = max(step * math.ceil(peak / step), step)
    baseline = top + plot_h

    def x_at(i: int) -> float:
        return left + (plot_w / 2 if len(series) == 1 else i * plot_w / (len(series) - 1))

    def y_at(value: int) -> float:
        return baseline - value * plot_h / y_max

    y_ticks = [{"value": v, "y": _fmt(y_at(v))} for v in range(0, y_max + 1, step)]
    # Every week gets a tick; labels thin out so they never overlap (~56 px each).
    label_every = max(1, math.ceil(len(series) * 56 / plot_w))
    x_ticks = [
        {
            "week": row["week"],
            "x": _fmt(x_at(i)),
            # Always label the latest week: it is the one facilitators look for.
            "label": (len(series) - 1 - i) % label_every == 0,
        }
        for i, row in enumerate(series)
    ]

    lines = []
    for slot, level in enumerate(LEVELS):
        style = LEVEL_STYLE[level]
        segments: list[list[str]] = [[]]
        markers = []
        for i, row in enumerate(series):
            if row.get("missing") or row.get(level) is None:
                if segments[-1]:
                    segments.append([])
                continue
            x, y = x_at(i), y_at(row[level])
            segments[-1].append(f"{_fmt(x)},{_fmt(y)}")
            markers.append(
                {
                    "x": _fmt(x),
                    "y": _fmt(y),
                    "points": "" if style["marker"] == "circle" else _marker_points(style["marker"], x, y),
                    "value": row[level],
                    "week": row["week"],
                }
            )
        legend_x = left + slot * (plot_w / len(LEVELS))
        lines.append(
            {
                "level": level,
                "label": Level(level).label,
                "colour": style["colour"],
                "dash": style["dash"],
                "marker": style["marker"],
                # A polyline needs two points; single weeks are shown by their marker.
                "polylines": [" ".join(seg) for seg in segments if len(seg) >= 2],
                "markers": markers,
                "legend": {
                    "x1": _fmt(legend_x),
                    "x2": _fmt(legend_x + 28),
                    "mx": _fmt(legend_x + 14),
                    "text_x": _fmt(legend_x + 34),
                    "y": "14",
                    "points": "" if style["marker"] == "circle" else _marker_points(style["marker"], legend_x + 14, 14),
                },
            }
        )

    latest = present[-1] if present else None
    return {
        "id": chart_id,
        "width": width,
        "height": height,
        "plot": {
            "left": left,
            "right": left + plot_w,
            "top": top,
            "bottom": baseline,
            "mid_x": _fmt(left + plot_w / 2),
            "mid_y": _fmt(top + plot_h / 2),
            "y_label_x": left - 6,
            "tick_end_y": baseline + 4,
        },
        "marker_r": MARKER_SIZE,
        "y_ticks": y_ticks,
        "x_ticks": x_ticks,
        "x_label_y": baseline + 18,
        "lines": lines,
        "has_data": bool(present),
        "latest": latest,
        "first_week": series[0]["week"] if series else None,
        "last_week": series[-1]["week"] if series else None,
        "missing_weeks": len(series) - len(present),
    }
