"""The health page, the site overview and the rhythm (facilitators, owners and site admins; others get a 404)."""

from __future__ import annotations

import csv
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import signed_in
from communities import panels, policy
from communities.models import Community, Membership
from communities.participation import LEVELS
from insights import beats as rhythm_beats
from insights import charts, queries, services
from insights.forms import BeatForm, DateRangeForm, default_range
from insights.models import Beat
from value.views import cell


def _community(request: HttpRequest, slug: str) -> tuple[Community, HttpResponse | None]:
    """The community, or the login page for someone signed out; a 404 for anyone else who may not see its health.

    A 404 rather than a 403, as for anything a member may not open: the page's
    existence tells nothing about the community.
    """
    community = policy.get_community_or_404(request.user, slug)
    if not request.user.is_authenticated:
        return community, redirect_to_login(request.get_full_path())
    if not policy.can_view_health(request.user, community):
        raise Http404("No such page.")
    return community, None


def _hours(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 48:
        return f"{value:.1f} h"
    return f"{value / 24:.1f} days"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def health(request: HttpRequest, slug: str, *, as_csv: bool = False) -> HttpResponse:
    community, refused = _community(request, slug)
    if refused:
        return refused
    today = timezone.now().date()
    typed = "start" in request.GET or "end" in request.GET
    form = DateRangeForm(request.GET if typed else None, today=today)
    if form.is_bound and form.is_valid():
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    else:
        start, end = default_range(today)
    report = queries.community_health(community, start, end, today)
    if as_csv or request.GET.get("format") == "csv":
        if form.is_bound and not form.is_valid():
            return HttpResponse("Choose a valid date range first.", status=400, content_type="text/plain")
        return _health_csv(report)
    context = {
        "community": community,
        "report": report,
        "form": form,
        "range_ok": not form.is_bound or form.is_valid(),
        "areas": charts.level_areas(report.snapshots),
        "bars": charts.month_bars(report.event_months),
        "bar_style": charts.BAR_STYLE,
        "levels": [(level, Membership.Level(level).label) for level in LEVELS],
        "hours": _hours,
        "percent": _percent,
        "csv_query": f"start={start.isoformat()}&end={end.isoformat()}",
        "moves_listed": queries.MOVES_LISTED,
    }
    status = 200 if context["range_ok"] else 400
    return render(request, "insights/health.html", context, status=status)


def health_csv(request: HttpRequest, slug: str) -> HttpResponse:
    return health(request, slug, as_csv=True)


def _health_csv(report: queries.Health) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"health-{report.community.slug}-{report.start.isoformat()}-{report.end.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    w = csv.writer(response)
    f = report.figures
    w.writerow(["Community health", cell(report.community.name), report.start.isoformat(), report.end.isoformat()])
    w.writerow([])
    w.writerow(["Members by level, weekly"])
    w.writerow(["Week", *(Membership.Level(level).label for level in LEVELS), "Total"])
    for row in report.snapshots:
        w.writerow([row["week"].isoformat(), *(row[level] for level in LEVELS), sum(row[level] for level in LEVELS)])
    w.writerow([])
    w.writerow([f"Moves in and out of core and active, {report.month:%B %Y}"])
    w.writerow(["Member", "From", "To", "When"])
    for move in report.moves:
        w.writerow([cell(move.name), move.old, move.new, move.at.isoformat()])
    w.writerow([])
    w.writerow(["Newcomers' first threads"])
    w.writerow(["Thread", "Started by", "Started", "First reply by someone else", "Hours to first reply"])
    for n in report.newcomers:
        w.writerow(
            [
                cell(n.title),
                cell(n.author),
                n.started_at.isoformat(),
                n.first_reply_at.isoformat() if n.first_reply_at else "",
                "" if n.hours is None else f"{n.hours:.2f}",
            ]
        )
    w.writerow([])
    w.writerow(["Figure", "Value"])
    median, p90 = report.median_hours, report.p90_hours
    rows: list[tuple[str, Any]] = [
        ("Newcomers", len(report.newcomers)),
        ("Newcomers still waiting for a reply", report.newcomers_waiting),
        ("Median hours to first reply", "" if median is None else f"{median:.2f}"),
        ("90th percentile hours to first reply", "" if p90 is None else f"{p90:.2f}"),
        ("Replies", f["replies"]),
        ("Replies from core members", f["core_replies"]),
        ("Replies from outside the core", f["replies"] - f["core_replies"]),
        ("Peripheral members", f["level_peripheral"]),
        ("Peripheral members who contributed this quarter", f["peripheral_contributed"]),
        ("Unanswered questions", f["unanswered"]),
        ("Resources in the repertoire", f["resources"]),
        ("Resources with a review-by date", f["dated"]),
        ("Resources past their review-by date", f["overdue"]),
    ]
    w.writerows(rows)
    w.writerow([])
    w.writerow(["Events"])
    w.writerow(["Event", "Starts", "Kind", "RSVPs going", "People who wrote in the chat"])
    for e in report.events:
        w.writerow([cell(e.title), e.starts_at.isoformat(), e.kind, e.going, e.chatted])
    return response


# --- Site overview ------------------------------------------------------------------

OVERVIEW_COLUMNS = [
    ("name", "Community"),
    ("members", "Members"),
    ("active", "Active this month"),
    ("unanswered", "Unanswered questions"),
    ("overdue", "Past review-by"),
    ("last_activity", "Last activity"),
]


def site_overview(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not policy.can_view_site_health(request.user):
        raise Http404("No such page.")
    today = timezone.now().date()
    sort = request.GET.get("sort", "name")
    sort = sort if sort in queries.OVERVIEW_SORTS else "name"
    descending = request.GET.get("dir") == "desc"
    rows = queries.site_overview(today, sort, descending)
    if request.GET.get("format") == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="communities-health-{today.isoformat()}.csv"'
        w = csv.writer(response)
        w.writerow(
            [
                "Community",
                "Address",
                "Visibility",
                "Members",
                *(Membership.Level(level).label for level in LEVELS),
                "Active this month",
                "Unanswered questions",
                "Resources",
                "Past review-by",
                "Last activity",
            ]
        )
        for r in rows:
            w.writerow(
                [
                    cell(r["name"]),
                    r["slug"],
                    r["visibility"],
                    r["members"],
                    *(r[f"level_{level}"] for level in LEVELS),
                    r["active_month"],
                    r["unanswered"],
                    r["resources"],
                    r["overdue"],
                    r["last_activity_at"].isoformat() if r["last_activity_at"] else "",
                ]
            )
        return response
    headers = []
    for key, label in OVERVIEW_COLUMNS:
        flip = (
            "asc" if (sort == key and descending) else "desc" if sort == key else ("asc" if key == "name" else "desc")
        )
        headers.append(
            {
                "key": key,
                "label": label,
                "href": f"?sort={key}&dir={flip}",
                "aria_sort": ("descending" if descending else "ascending") if sort == key else None,
            }
        )
    for r in rows:
        r["overdue_share"] = _percent(r["overdue"] / r["resources"] if r["resources"] else None)
    context = {
        "rows": rows,
        "headers": headers,
        "levels": [(level, Membership.Level(level).label) for level in LEVELS],
        "csv_query": f"sort={sort}&dir={'desc' if descending else 'asc'}&format=csv",
        "today": today,
    }
    return render(request, "insights/site_overview.html", context)


# --- Rhythm -------------------------------------------------------------------------


def _rhythm_page(
    request: HttpRequest, community: Community, form: BeatForm | None = None, status: int = 200
) -> HttpResponse:
    beats = rhythm_beats.rhythm(community)
    context = {
        "community": community,
        "beats": [(beat, rhythm_beats.describe(beat)) for beat in beats],
        "missed": rhythm_beats.missed_beats(community, timezone.now(), beats),
        "form": form or BeatForm(community=community),
        "markable": (Beat.Kind.DIGEST, Beat.Kind.CUSTOM),
    }
    return render(request, "insights/rhythm.html", context, status=status)


@require_http_methods(["GET", "POST"])
def rhythm(request: HttpRequest, slug: str) -> HttpResponse:
    community, refused = _community(request, slug)
    if refused:
        return refused
    if request.method == "GET":
        return _rhythm_page(request, community)
    form = BeatForm(request.POST, community=community)
    if not form.is_valid():
        return _rhythm_page(request, community, form, status=400)
    beat = services.add_beat(signed_in(request), community, form.cleaned_data)
    messages.success(request, f"Added to the rhythm: {rhythm_beats.describe(beat)}.")
    return redirect("insights:rhythm", slug=community.slug)


@require_POST
def rhythm_action(request: HttpRequest, slug: str, beat_id: int, action: str) -> HttpResponse:
    community, refused = _community(request, slug)
    if refused:
        return refused
    try:
        if action == "remove":
            beat = services.remove_beat(signed_in(request), community, beat_id)
            messages.success(request, f"Removed from the rhythm: {rhythm_beats.describe(beat)}.")
        elif action == "held":
            services.mark_held(signed_in(request), community, beat_id)
            messages.success(request, "Marked as held today.")
        else:
            raise Http404("No such action.")
    except Beat.DoesNotExist:
        raise Http404("No such beat.") from None
    return redirect("insights:rhythm", slug=community.slug)


def dashboard_panel(request: HttpRequest, community: Community) -> panels.Panel | None:
    """On the facilitators' dashboard: links to the health page and the rhythm, and any missed beats."""
    if not policy.can_view_health(request.user, community):
        return None
    missed = rhythm_beats.missed_beats(community, timezone.now())
    return panels.Panel("insights/_dashboard_panel.html", {"missed": missed}, order=5)
