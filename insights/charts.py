"""The health page's charts as ready-made SVG geometry (the templates only draw it; no script needed).

Stacked areas for members by level: the layers never hide one another, each
has its own colour and its own outline dash, and the data table under the
chart says the same in numbers.
"""

from __future__ import annotations

import datetime
from typing import Any

from communities.models import Membership
from communities.participation import LEVEL_STYLE, LEVELS, _fmt, nice_step

MARGIN = {"left": 44, "right": 12, "top": 30, "bottom": 28}
# Bottom to top: the core carries the community, so it is the ground the others stand on.
STACK = LEVELS


def _frame(width: int, height: int) -> tuple[int, int, int, int]:
    left, top = MARGIN["left"], MARGIN["top"]
    return left, top, width - MARGIN["left"] - MARGIN["right"], height - MARGIN["top"] - MARGIN["bottom"]


def _y_ticks(peak: int, baseline: float, plot_h: int) -> tuple[int, list[dict[str, Any]]]:
    step = nice_step(peak)
    y_max = max(step * -(-peak // step), step)
    return y_max, [{"value": v, "y": _fmt(baseline - v * plot_h / y_max)} for v in range(0, y_max + 1, step)]


def _x_labels(days: list[datetime.date], x_at: Any, plot_w: int, fmt: str) -> list[dict[str, Any]]:
    every = max(1, -(-len(days) * 60 // max(plot_w, 1)))
    return [
        {"x": _fmt(x_at(i)), "text": day.strftime(fmt)}
        for i, day in enumerate(days)
        if (len(days) - 1 - i) % every == 0
    ]


def level_areas(snapshots: list[dict[str, Any]], width: int = 640, height: int = 240) -> dict[str, Any]:
    """Stacked areas, one layer per level, from weekly snapshot rows (oldest first)."""
    left, top, plot_w, plot_h = _frame(width, height)
    baseline = top + plot_h
    totals = [sum(row[level] for level in LEVELS) for row in snapshots]
    y_max, y_ticks = _y_ticks(max(totals, default=0), baseline, plot_h)
    count = len(snapshots)

    def x_at(i: int) -> float:
        return left + (plot_w / 2 if count == 1 else i * plot_w / (count - 1))

    def y_at(value: float) -> float:
        return baseline - value * plot_h / y_max

    # A single week is drawn as a band across the whole width rather than a zero-width sliver.
    xs: list[float] = [left, left + plot_w] if count == 1 else [x_at(i) for i in range(count)]
    rows = snapshots * 2 if count == 1 else snapshots
    below = [0.0] * len(rows)
    layers = []
    for slot, level in enumerate(STACK):
        above = [below[i] + rows[i][level] for i in range(len(rows))]
        top_line = [f"{_fmt(x)},{_fmt(y_at(v))}" for x, v in zip(xs, above, strict=True)]
        bottom_line = [f"{_fmt(x)},{_fmt(y_at(v))}" for x, v in zip(reversed(xs), reversed(below), strict=True)]
        style = LEVEL_STYLE[level]
        legend_x = left + slot * (plot_w / len(STACK))
        layers.append(
            {
                "level": level,
                "label": Membership.Level(level).label,
                "colour": style["colour"],
                "dash": style["dash"],
                "area": " ".join(top_line + bottom_line),
                "outline": " ".join(top_line),
                "legend": {"x": _fmt(legend_x), "text_x": _fmt(legend_x + 18)},
            }
        )
        below = above
    return {
        "width": width,
        "height": height,
        "left": left,
        "right": left + plot_w,
        "top": top,
        "bottom": baseline,
        "y_ticks": y_ticks,
        "x_labels": _x_labels([row["week"] for row in snapshots], x_at, plot_w, "%d %b %y") if count else [],
        "label_y": baseline + 18,
        "layers": layers,
        "has_data": bool(count),
    }


BAR_STYLE = {
    "events": {"colour": "#2f7bd9", "label": "Events held", "pattern": ""},
    "going": {"colour": "#c75a00", "label": "RSVPs “going”", "pattern": "hatch"},
    "chatted": {"colour": "#8a63d2", "label": "People who wrote in a chat", "pattern": "dots"},
}


def month_bars(months: list[dict[str, Any]], width: int = 640, height: int = 220) -> dict[str, Any]:
    """Grouped bars per month: events held, RSVPs "going", people who wrote in a hosted chat."""
    left, top, plot_w, plot_h = _frame(width, height)
    baseline = top + plot_h
    keys = list(BAR_STYLE)
    peak = max((row[key] for row in months for key in keys), default=0)
    y_max, y_ticks = _y_ticks(peak, baseline, plot_h)
    slot_w = plot_w / max(len(months), 1)
    bar_w = max(slot_w * 0.8 / len(keys), 1)
    bars = []
    for i, row in enumerate(months):
        for k, key in enumerate(keys):
            h = row[key] * plot_h / y_max
            bars.append(
                {
                    "key": key,
                    "x": _fmt(left + i * slot_w + slot_w * 0.1 + k * bar_w),
                    "y": _fmt(baseline - h),
                    "w": _fmt(bar_w),
                    "h": _fmt(h),
                    "colour": BAR_STYLE[key]["colour"],
                    "pattern": BAR_STYLE[key]["pattern"],
                    "value": row[key],
                    "month": row["month"],
                }
            )
    return {
        "width": width,
        "height": height,
        "left": left,
        "right": left + plot_w,
        "top": top,
        "bottom": baseline,
        "y_ticks": y_ticks,
        "x_labels": _x_labels([row["month"] for row in months], lambda i: left + (i + 0.5) * slot_w, plot_w, "%b %y"),
        "label_y": baseline + 18,
        "bars": bars,
        "legend": [
            {
                "x": _fmt(left + k * plot_w / len(keys)),
                "text_x": _fmt(left + k * plot_w / len(keys) + 16),
                **BAR_STYLE[key],
            }
            for k, key in enumerate(keys)
        ],
        "has_data": any(row[key] for row in months for key in keys),
    }
