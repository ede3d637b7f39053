"""The member directory (who belongs, what they can help with) and a member's own page for one community."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.models import signed_in
from communities import expertise, policy, queries, services
from communities.forms import ExpertiseForm, MemberFilterForm

MEMBERS_PER_PAGE = 30


def _page_number(request: HttpRequest) -> int:
    try:
        return min(max(int(request.GET.get("page", 1)), 1), 10_000)
    except ValueError:
        return 1


def members(request: HttpRequest, slug: str) -> HttpResponse:
    """Members only (and site admins): outsiders, logged in or not, get the same 404 as a missing community.

    Levels are the facilitators' view: only they see the column and may filter by it.
    """
    community = policy.get_community_or_404(request.user, slug)
    if not policy.can_view_member_directory(request.user, community):
        raise Http404("No such community.")
    levels = policy.can_see_member_levels(request.user, community)
    vocabulary = expertise.listed_vocabulary(community)
    form = MemberFilterForm(request.GET, vocabulary=vocabulary, levels=levels)
    form.is_valid()  # what parses is kept (cleaned_data), what doesn't is left out and said so
    chosen = form.cleaned_data
    filters = {
        "search": chosen.get("q", ""),
        "role": chosen.get("role", ""),
        "level": chosen.get("level", "") if levels else "",
        "tag": chosen.get("tag", ""),
    }
    page = queries.member_directory(community, **filters, page=_page_number(request), per_page=MEMBERS_PER_PAGE)
    params = {
        key: value
        for key, value in (
            ("q", filters["search"]),
            ("role", filters["role"]),
            ("level", filters["level"]),
            ("tag", filters["tag"]),
        )
        if value
    }
    context = {
        "community": community,
        "form": form,
        "page": page,
        "params": params,
        "show_levels": levels,
        "filtered": bool(params),
    }
    return render(request, "communities/members.html", context)


@require_http_methods(["GET", "POST"])
def membership(request: HttpRequest, slug: str) -> HttpResponse:
    """The member's own settings for one community: what they can help with (their expertise)."""
    community = policy.get_community_or_404(request.user, slug)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not policy.can_set_expertise(request.user, community):
        raise Http404("No such community.")
    mine = policy.membership_of(request.user, community)
    vocabulary = expertise.vocabulary(community)
    initial = {"expertise": list(mine.expertise) if mine is not None else []}
    form = ExpertiseForm(request.POST or None, vocabulary=vocabulary, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.set_expertise(signed_in(request), community, form.cleaned_data["expertise"])
            except services.MembershipError as exc:
                form.add_error("expertise", str(exc))
            else:
                messages.success(request, "Your expertise is saved: members can find you by it in the directory.")
                return redirect("communities:membership", slug=community.slug)
        status = 400
    context = {"community": community, "form": form, "vocabulary": vocabulary, "membership": mine}
    return render(request, "communities/membership.html", context, status=status)
