"""Pages of the practice loop: "I'll try this", "Did you try it?", and the facilitator's report."""

from __future__ import annotations

import csv

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_POST

from accounts.models import signed_in
from communities import panels, policy
from communities.models import Community
from core.refusals import Refused
from practice import chart, queries, services
from practice.forms import CommitForm, ReportForm
from practice.models import ReportBack
from resources.models import Resource

# A spreadsheet runs a cell starting with one of these as a formula: such cells get a leading quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def resource_section(request: HttpRequest, resource: Resource) -> SafeString | None:
    """The resource page's "I'll try this" box and what happened (research summaries with something to try)."""
    if not (resource.is_research and resource.try_this):
        return None
    user = request.user
    context = {
        "resource": resource,
        "community": resource.community,
        "outcomes": queries.outcomes(resource, user),
        "stories": queries.stories(resource, user),
        "can_commit": services.can_commit(user, resource),
        "commit_form": CommitForm(),
    }
    html = render_to_string("practice/_resource_section.html", context, request=request)
    return mark_safe(html)  # noqa: S308  # rendered (and escaped) by its own template


@require_POST
def commit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    resource = policy.get_resource_or_404(request.user, Resource.objects.select_related("thread"), slug, pk)
    if not request.user.is_authenticated:
        return redirect_to_login(resource.get_absolute_url())
    form = CommitForm(request.POST)
    if not form.is_valid():
        context = {"resource": resource, "community": resource.community, "form": form}
        return render(request, "practice/commit.html", context, status=400)
    services.commit(signed_in(request), resource, note=form.cleaned_data["note"], try_by=form.cleaned_data["try_by"])
    days = services.ask_after_days(resource.community)
    messages.success(request, f"Good luck! In {days} days we'll ask how it went.")
    return redirect(resource.get_absolute_url() + "#loop-heading")


def ask(request: HttpRequest, thread_id: int) -> HttpResponse:
    """Where the ask leads (notification, digest): the report-back form of that discussion's resource."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    commitment = queries.commitment_for_thread(request.user, thread_id)
    if commitment is None or not policy.can_view_resource(request.user, commitment.resource):
        raise Http404("Nothing to report back on here.")
    return _report(request, commitment)


def report(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    resource = policy.get_resource_or_404(request.user, Resource.objects.all(), slug, pk)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    commitment = queries.commitment_of(resource, request.user)
    if commitment is None:
        raise Http404("You haven't said you'd try this.")
    return _report(request, commitment)


def _report(request: HttpRequest, commitment) -> HttpResponse:
    resource = commitment.resource
    existing = getattr(commitment, "report", None) if hasattr(commitment, "report") else None
    initial = {"outcome": existing.outcome} if existing else None
    form = ReportForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.report_back(
                signed_in(request), commitment, outcome=form.cleaned_data["outcome"], story=form.cleaned_data["story"]
            )
        except Refused as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Thank you: your report is on the resource's page.")
            return redirect(resource.get_absolute_url() + "#loop-heading")
    context = {"resource": resource, "community": resource.community, "form": form, "commitment": commitment}
    return render(request, "practice/report_back.html", context, status=400 if form.errors else 200)


def _facilitated(request: HttpRequest, slug: str) -> Community:
    community = policy.get_community_or_404(request.user, slug)
    if not request.user.is_authenticated:
        raise Refused("Sign in to see the practice report.")
    if not policy.can_moderate(request.user, community):
        raise Refused("Only the community's facilitators see the practice report.")
    return community


def facilitator_report(request: HttpRequest, slug: str) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    community = _facilitated(request, slug)
    days_error = ""
    if request.method == "POST":
        try:
            days = int(request.POST.get("ask_after_days", ""))
            services.set_ask_after_days(signed_in(request), community, days)
        except ValueError:
            days_error = "Give a number of days between 1 and 365."
        except services.PracticeError as exc:
            days_error = exc.message
        else:
            messages.success(request, f"Members will be asked {days} days after they commit.")
            return redirect("practice:facilitator_report", slug=slug)
    rows = queries.monthly_report(community)
    months = queries.monthly_totals(rows)
    context = {
        "community": community,
        "rows": rows,
        "months": months,
        "chart": chart.monthly_chart(months),
        "outcome_choices": ReportBack.Outcome.choices,
        "ask_after_days": request.POST.get("ask_after_days") if days_error else services.ask_after_days(community),
        "days_error": days_error,
    }
    return render(request, "practice/report.html", context, status=400 if days_error else 200)


def safe_cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text: formula-like text gets a leading quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def facilitator_csv(request: HttpRequest, slug: str) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    community = _facilitated(request, slug)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="practice-{community.slug}.csv"'
    writer = csv.writer(response)
    outcomes = ReportBack.Outcome.choices
    writer.writerow(["month", "resource", "committed", "reported back", *(label for _, label in outcomes)])
    for row in queries.monthly_report(community):
        writer.writerow(
            [
                safe_cell(f"{row.month:%Y-%m}"),
                safe_cell(row.title),
                row.committed,
                row.reported,
                *(row.count(value) for value, _ in outcomes),
            ]
        )
    return response


def dashboard_panel(request: HttpRequest, community: Community) -> panels.Panel | None:
    if not policy.can_moderate(request.user, community):
        return None
    return panels.Panel("practice/_dashboard_panel.html", {}, order=60)
