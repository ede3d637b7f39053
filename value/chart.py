"""The value report's chart: notes per cycle per month as stacked bars, inline SVG drawn on the server.

No script and no third-party library: the numbers are the report's, the SVG
carries a <title> and a <desc> saying what it shows (screen readers read those;
the table beside it has every number).
"""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from value.models import CYCLE_LABELS, CYCLES

# One colour per cycle, distinguishable in greyscale print too (light to dark).
COLOURS = {
    "immediate": "#bcd7f0",
    "potential": "#7fb0de",
    "applied": "#3f7fbf",
    "realised": "#1d4f86",
    "reframing": "#e0a040",
}
WIDTH, HEIGHT = 640, 260
LEFT, BOTTOM, TOP = 36, 40, 16


def monthly_chart(report) -> SafeString:  # report: value.queries.Report
    months = report.months
    peak = max((m.total for m in months), default=0)
    scale_top = max(peak, 1)
    plot_h = HEIGHT - BOTTOM - TOP
    slot = (WIDTH - LEFT - 8) / max(len(months), 1)
    bar = slot * 0.7
    parts = [
        f'<svg class="value-chart" role="img" aria-labelledby="value-chart-title value-chart-desc" '
        f'viewBox="0 0 {WIDTH} {HEIGHT + 24}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="value-chart-title">Value notes per month in {escape(report.community.name)}</title>',
        f'<desc id="value-chart-desc">{escape(_description(report))}</desc>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH}" y2="{TOP + plot_h}" stroke="#555" />',
        f'<text x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end" font-size="11">{peak}</text>',
        f'<text x="{LEFT - 6}" y="{TOP + plot_h}" text-anchor="end" font-size="11">0</text>',
    ]
    for index, month in enumerate(months):
        x = LEFT + index * slot + (slot - bar) / 2
        y = TOP + plot_h
        for cycle in CYCLES:
            count = month.counts[cycle]
            if not count:
                continue
            h = plot_h * count / scale_top
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{COLOURS[cycle]}">'
                f"<title>{escape(month.label)}: {count} {escape(CYCLE_LABELS[cycle].lower())}</title></rect>"
            )
        parts.append(
            f'<text x="{x + bar / 2:.1f}" y="{TOP + plot_h + 14}" text-anchor="middle" font-size="10">'
            f"{escape(month.start.strftime('%b'))}</text>"
        )
    legend_x = LEFT
    for cycle in CYCLES:
        parts.append(
            f'<rect x="{legend_x}" y="{HEIGHT + 6}" width="10" height="10" fill="{COLOURS[cycle]}" />'
            f'<text x="{legend_x + 14}" y="{HEIGHT + 15}" font-size="11">{escape(CYCLE_LABELS[cycle])}</text>'
        )
        legend_x += 122
    parts.append("</svg>")
    # Every value above is a number, a fixed label or escaped here.
    return mark_safe("".join(parts))  # noqa: S308


def _description(report) -> str:
    first, last = report.months[0], report.months[-1]
    totals = report.totals
    counts = ", ".join(f"{totals[c]} {CYCLE_LABELS[c].lower()}" for c in CYCLES)
    return (
        f"Stacked bars, one per month from {first.label} to {last.label}: "
        f"{report.total} value notes in all ({counts}). The table below has every month's numbers."
    )
