"""The facilitator's chart: commitments and report-backs per month, as inline SVG drawn here.

Grouped bars (committed, reported back, of which tried) per month; the
accessible name is the SVG's <title>, its <desc> sums it up, and the table
beside it (practice/report.html) holds every number.
"""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from practice.queries import MonthRow

WIDTH, HEIGHT = 640, 240
LEFT, BOTTOM, TOP = 40, 40, 16
SERIES = (
    ("committed", "Committed", "#2f6f9f"),
    ("reported", "Reported back", "#d08a1a"),
    ("tried", "Tried", "#3c8d40"),
)


def _value(row: MonthRow, name: str) -> int:
    if name == "tried":
        return sum(row.count(o) for o in ("helped", "no_difference", "did_not_work"))
    return int(getattr(row, name))


def monthly_chart(months: list[MonthRow], *, chart_id: str = "loop-chart") -> SafeString:
    """Inline SVG for ``months`` (oldest first); every number drawn is escaped text or computed here."""
    months = months[-12:]
    peak = max([_value(m, name) for m in months for name, _, _ in SERIES] or [0]) or 1
    plot_w, plot_h = WIDTH - LEFT - 10, HEIGHT - BOTTOM - TOP
    slot = plot_w / max(len(months), 1)
    bar = max(min(slot / (len(SERIES) + 1), 28), 2)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" class="loop-chart"'
        f' aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">Commitments and report-backs per month</title>',
    ]
    total = [sum(_value(m, n) for m in months) for n, _, _ in SERIES]
    span = f"{months[0].month:%B %Y} to {months[-1].month:%B %Y}" if months else "no months yet"
    parts.append(
        f'<desc id="{chart_id}-desc">Bar chart, {escape(span)}: {total[0]} committed, {total[1]} reported back, '
        f"{total[2]} tried. The table beside it lists every month.</desc>"
    )
    base = TOP + plot_h
    parts.append(f'<line x1="{LEFT}" y1="{base}" x2="{WIDTH - 10}" y2="{base}" stroke="#666" />')
    parts.append(f'<text x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end" font-size="11">{peak}</text>')
    parts.append(f'<text x="{LEFT - 6}" y="{base}" text-anchor="end" font-size="11">0</text>')
    for i, m in enumerate(months):
        x0 = LEFT + i * slot + (slot - bar * len(SERIES)) / 2
        for j, (name, label, colour) in enumerate(SERIES):
            value = _value(m, name)
            h = plot_h * value / peak
            parts.append(
                f'<rect x="{x0 + j * bar:.1f}" y="{base - h:.1f}" width="{bar - 1:.1f}" height="{h:.1f}"'
                f' fill="{colour}">'
                f"<title>{escape(label)}, {m.month:%b %Y}: {value}</title></rect>"
            )
        parts.append(
            f'<text x="{LEFT + i * slot + slot / 2:.1f}" y="{base + 16}" text-anchor="middle" font-size="11">'
            f"{m.month:%b %Y}</text>"
        )
    for j, (_, label, colour) in enumerate(SERIES):
        x = LEFT + j * 150
        parts.append(f'<rect x="{x}" y="{HEIGHT - 14}" width="10" height="10" fill="{colour}" />')
        parts.append(f'<text x="{x + 14}" y="{HEIGHT - 5}" font-size="11">{escape(label)}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308  # numbers and escaped labels only
