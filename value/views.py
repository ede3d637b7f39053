"""Value notes: the form, the notes on a page of posts and a resource, the facilitators' value report."""

from __future__ import annotations

import csv
from typing import TYPE_CHECKING

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from accounts.models import User, Viewer, signed_in
from communities import panels, policy
from communities.models import Community
from core import ratelimit
from core.refusals import Refused
from value import chart, queries, services
from value.forms import ValueNoteForm
from value.models import CYCLE_HINTS, CYCLE_LABELS, CYCLES

if TYPE_CHECKING:
    from discussions.models import Post, Thread
    from resources.models import Resource

KINDS = ("thread", "post", "resource")


def add(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """The value note form for one item; a rejected form comes back with what was typed."""
    if kind not in KINDS:
        raise Http404("No such item.")
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    item = queries.item_for(request.user, kind, pk)
    if not policy.can_add_value_note(request.user, item.community):
        raise Refused("Only members of this community can add value notes here.")
    # Sharing in the digest defaults on where everything is public anyway, off in a private community.
    initial = {"share_in_digest": item.community.visibility == Community.Visibility.OPEN}
    form = ValueNoteForm(request.POST or None, initial=initial)
    refusal = None
    if request.method == "POST" and form.is_valid() and (refusal := ratelimit.check(request, "value")):
        form.add_error(None, refusal.message)
    elif request.method == "POST" and form.is_valid():
        try:
            services.add_note(signed_in(request), item, **form.cleaned_data)
        except Refused as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Thank you: your value note is added.")
            return redirect(item.url())
    context = {"community": item.community, "item": item, "form": form, "hints": CYCLE_HINTS}
    response = render(request, "value/add.html", context)
    return refusal.stamp(response) if refusal else response


def edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The author changes their note; the form comes back filled in."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    note, item = queries.note_for(request.user, pk)
    if not policy.can_edit_value_note(request.user, note):
        raise Refused("Only its author, as a member of this community, can edit this value note.")
    initial = {"cycle": note.cycle, "text": note.text, "measure": note.measure, "share_in_digest": note.share_in_digest}
    form = ValueNoteForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.edit_note(signed_in(request), note, **form.cleaned_data)
        except Refused as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Your value note is changed.")
            return redirect(item.url())
    context = {"community": item.community, "item": item, "note": note, "form": form, "hints": CYCLE_HINTS}
    return render(request, "value/edit.html", context)


def delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete (the author) or remove (a facilitator) a note, after a confirmation page."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    note, item = queries.note_for(request.user, pk)
    if not policy.can_delete_value_note(request.user, note):
        raise Refused("You can't delete this value note.")
    own = note.author_id == request.user.pk
    if request.method == "POST":
        services.delete_note(signed_in(request), note)
        messages.success(request, "Your value note is deleted." if own else "The value note is removed.")
        return redirect(item.url())
    context = {"community": item.community, "item": item, "note": note, "own": own}
    return render(request, "value/delete.html", context)


def _with_actions(reader: Viewer, community: Community, notes: list) -> None:
    """Each note's edit and delete links for this reader (asked of policy; no query)."""
    for note in notes:
        note.community = community  # the page's own community: notes are denormalised onto it
        note.may_edit = policy.can_edit_value_note(reader, note)
        note.may_delete = policy.can_delete_value_note(reader, note)


# --- On the pages of the items -----------------------------------------------


def mark_posts(reader: Viewer, thread: Thread, posts: list[Post], fresh: bool) -> None:
    """Each post's notes grouped by cycle (the opening post carries the thread's too): one query per page.

    Registered with discussions.post_extras. Only notes on posts whose content the
    reader may read are shown (never a hidden or deleted post's to someone who can't
    see it); fresh posts have none yet.
    """
    readable = [post for post in posts if post.show_content and not post.is_deleted]
    opening = next((post for post in readable if post.depth == 0), None)
    may_add = policy.can_add_value_note(reader, thread.community)
    for post in posts:
        post.marks["value"] = None
    if not readable:
        return
    notes = (
        [] if fresh else queries.notes_on_posts(thread, [post.pk for post in readable], with_thread=opening is not None)
    )
    _with_actions(reader, thread.community, notes)
    by_post: dict[int | None, list] = {}
    for note in notes:
        by_post.setdefault(note.post_id, []).append(note)
    for post in readable:
        mine = by_post.get(post.pk, [])
        if post is opening:
            mine = by_post.get(None, []) + mine
        post.marks["value"] = {
            "notes": queries.grouped(mine),
            # The opening post stands for its thread: its notes are the thread's.
            "add_url": _add_url("thread", thread.pk) if post is opening else _add_url("post", post.pk),
            "may_add": may_add and not post.is_hidden,
        }


def _add_url(kind: str, pk: int) -> str:
    from django.urls import reverse

    return reverse("value:add", kwargs={"kind": kind, "pk": pk})


def resource_notes(request: HttpRequest, resource: Resource) -> SafeString:
    """The resource page's value notes grouped by cycle (resources.extras)."""
    notes = queries.notes_on_resource(resource)
    _with_actions(request.user, resource.community, notes)
    context = {
        "notes": queries.grouped(notes),
        "add_url": _add_url("resource", resource.pk),
        "may_add": policy.can_add_value_note(request.user, resource.community),
    }
    # Rendered (and escaped) by its own template; the resource page inserts it as is.
    return mark_safe(render_to_string("value/_item_notes.html", context, request=request))  # noqa: S308


def report_panel(request: HttpRequest, community: Community) -> panels.Panel | None:
    """A link to the value report on the facilitators' dashboard."""
    if not policy.can_view_value_report(request.user, community):
        return None
    return panels.Panel("value/_report_panel.html", {}, order=20)


# --- The value report ---------------------------------------------------------


def _report(request: HttpRequest, slug: str) -> queries.Report:
    community = policy.get_community_or_404(request.user, slug)
    if not policy.can_view_value_report(request.user, community):
        raise Refused("The value report is for this community's facilitators.")
    return queries.value_report(community, timezone.now().date())


def _report_context(report: queries.Report) -> dict:
    return {
        "community": report.community,
        "report": report,
        "cycles": [(cycle, CYCLE_LABELS[cycle]) for cycle in CYCLES],
        "chart": chart.monthly_chart(report),
        "generated": timezone.now(),
    }


def report(request: HttpRequest, slug: str) -> HttpResponse:
    return render(request, "value/report.html", _report_context(_report(request, slug)))


def report_print(request: HttpRequest, slug: str) -> HttpResponse:
    """The same report on a page of its own to print and hand to a sponsor: no navigation."""
    return render(request, "value/report_print.html", _report_context(_report(request, slug)))


# A spreadsheet runs a cell starting with one of these as a formula (OWASP's CSV injection advice).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def report_csv(request: HttpRequest, slug: str) -> HttpResponse:
    report = _report(request, slug)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="value-report-{report.community.slug}.csv"'
    writer = csv.writer(response)
    writer.writerow(["Notes per month"])
    writer.writerow(["Month", *(CYCLE_LABELS[c] for c in CYCLES), "Total"])
    for month in report.months:
        writer.writerow([month.start.strftime("%Y-%m"), *(month.counts[c] for c in CYCLES), month.total])
    writer.writerow([])
    writer.writerow(["Items that created the most applied and realised value"])
    writer.writerow(["Item", "Kind", "Applied", "Realised", "Link"])
    for item in report.top_items:
        writer.writerow(
            [cell(item.title), item.kind, item.applied, item.realised, request.build_absolute_uri(item.url)]
        )
    writer.writerow([])
    writer.writerow(["Members who reported applied or realised value"])
    writer.writerow(["Member", "Applied", "Realised"])
    for person in report.reporters:
        writer.writerow([cell(person.name), person.applied, person.realised])
    writer.writerow([])
    writer.writerow(["Realised value, in the members' words"])
    writer.writerow(["Date", "Member", "What changed", "Note"])
    for note in report.realised:
        writer.writerow(
            [note.created_at.date().isoformat(), cell(_author_name(note.author)), cell(note.measure), cell(note.text)]
        )
    return response


def _author_name(author: User | None) -> str:
    return author.name if author is not None else "Former member"
