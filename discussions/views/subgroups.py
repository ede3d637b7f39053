"""Subgroups: private corners of a community, managed by its facilitators.

Members of the community see the subgroups' names on its page (and ask a facilitator
to join one); a subgroup's page, its members and its threads are for its members and
the community's facilitators. Everyone else gets the same 404 as for a missing one.
"""

from __future__ import annotations

from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.models import User, signed_in
from communities import panels, policy, services
from communities import queries as community_queries
from communities.models import Community, Subgroup
from core.refusals import Refused
from discussions.forms import SubgroupForm, SubgroupMemberForm
from discussions.models import Thread


def subgroups_panel(request: HttpRequest, community: Community) -> panels.Panel | None:
    """The community page's "Subgroups": names only, for its members; nothing at all for anyone else."""
    if not policy.can_see_subgroups(request.user, community):
        return None
    subgroups = community_queries.subgroups_of(community)
    manage = policy.can_manage_subgroups(request.user, community)
    if not subgroups and not manage:
        return None
    mine = policy.subgroup_ids_of(request.user, community) if subgroups else frozenset()
    return panels.Panel(
        "discussions/_subgroups_panel.html",
        {"subgroups": subgroups, "mine": mine, "manage": manage},
        order=30,
    )


def _manager_community(request: HttpRequest, slug: str) -> Community:
    community = policy.get_community_or_404(request.user, slug)
    if not policy.can_see_subgroups(request.user, community):
        raise Http404("No such page.")
    if not policy.can_manage_subgroups(request.user, community):
        raise Refused("Only facilitators can manage subgroups.")
    return community


def _subgroup_or_404(request: HttpRequest, slug: str, subgroup_slug: str) -> tuple[Community, Subgroup]:
    """The subgroup for its members and the community's facilitators; a 404 for everyone else."""
    community = policy.get_community_or_404(request.user, slug)
    subgroup = community_queries.subgroup_or_none(community, subgroup_slug)
    if subgroup is None or not policy.can_read_subgroup(request.user, community, subgroup.pk):
        raise Http404("No such subgroup.")
    return community, subgroup


def subgroup_list(request: HttpRequest, slug: str, form: SubgroupForm | None = None) -> HttpResponse:
    """Facilitators: the subgroups with their member counts, and a form for a new one."""
    community = _manager_community(request, slug)
    if request.method == "POST":
        form = SubgroupForm(request.POST)
        if form.is_valid():
            try:
                subgroup = services.create_subgroup(
                    signed_in(request),
                    community,
                    name=form.cleaned_data["name"],
                    description=form.cleaned_data["description"],
                )
            except services.SubgroupError as exc:
                form.add_error("name", str(exc))
            else:
                messages.success(request, f"Subgroup “{subgroup.name}” created. Add its members below.")
                return redirect("discussions:subgroup", slug=community.slug, subgroup=subgroup.slug)
    context = {
        "community": community,
        "subgroups": community_queries.subgroups_of(community),
        "form": form or SubgroupForm(),
    }
    return render(request, "discussions/subgroups.html", context, status=400 if form and form.errors else 200)


def _members_choices(subgroup: Subgroup) -> QuerySet[User]:
    return community_queries.addable_members(subgroup)


def subgroup_detail(
    request: HttpRequest,
    slug: str,
    subgroup: str,
    edit_form: SubgroupForm | None = None,
    member_form: SubgroupMemberForm | None = None,
    status: int = 200,
) -> HttpResponse:
    community, group = _subgroup_or_404(request, slug, subgroup)
    manage = policy.can_manage_subgroups(request.user, community)
    threads = list(
        Thread.objects.visible_to(request.user)
        .filter(community=community, subgroup=group)
        .select_related("author")
        .order_by("-pinned", "-last_activity_at")[:50]
    )
    for thread in threads:
        thread.community = community
    members = community_queries.subgroup_members(group)
    context = {
        "community": community,
        "subgroup": group,
        "threads": threads,
        "members": members,
        "active_members": sum(1 for m in members if m.community_state == "active"),
        "manage": manage,
        "may_post": policy.can_post_in_subgroup(request.user, group),
        "edit_form": edit_form or SubgroupForm(initial={"name": group.name, "description": group.description}),
        "member_form": member_form or (SubgroupMemberForm(choices=_members_choices(group)) if manage else None),
    }
    return render(request, "discussions/subgroup.html", context, status=status)


def _managed_subgroup(request: HttpRequest, slug: str, subgroup: str) -> tuple[Community, Subgroup]:
    community, group = _subgroup_or_404(request, slug, subgroup)
    if not policy.can_manage_subgroups(request.user, community):
        raise Refused("Only facilitators can manage subgroups.")
    return community, group


@require_POST
def subgroup_edit(request: HttpRequest, slug: str, subgroup: str) -> HttpResponse:
    community, group = _managed_subgroup(request, slug, subgroup)
    form = SubgroupForm(request.POST)
    if form.is_valid():
        try:
            services.edit_subgroup(
                signed_in(request), group, name=form.cleaned_data["name"], description=form.cleaned_data["description"]
            )
        except services.SubgroupError as exc:
            form.add_error("name", str(exc))
        else:
            messages.success(request, "Subgroup saved.")
            return redirect("discussions:subgroup", slug=community.slug, subgroup=group.slug)
    group.refresh_from_db()
    return subgroup_detail(request, slug, subgroup, edit_form=form, status=400)


@require_POST
def subgroup_delete(request: HttpRequest, slug: str, subgroup: str) -> HttpResponse:
    community, group = _managed_subgroup(request, slug, subgroup)
    try:
        services.delete_subgroup(signed_in(request), group)
    except services.SubgroupError as exc:
        messages.error(request, str(exc))
        return redirect("discussions:subgroup", slug=community.slug, subgroup=group.slug)
    messages.success(request, f"Subgroup “{group.name}” deleted.")
    return redirect("discussions:subgroups", slug=community.slug)


@require_POST
def subgroup_add(request: HttpRequest, slug: str, subgroup: str) -> HttpResponse:
    community, group = _managed_subgroup(request, slug, subgroup)
    form = SubgroupMemberForm(request.POST, choices=_members_choices(group))
    if form.is_valid():
        person = form.cleaned_data["person"]
        try:
            services.add_subgroup_member(signed_in(request), group, person)
        except services.SubgroupError as exc:
            form.add_error("person", str(exc))
        else:
            messages.success(request, f"{person.name} added to “{group.name}”.")
            return redirect("discussions:subgroup", slug=community.slug, subgroup=group.slug)
    return subgroup_detail(request, slug, subgroup, member_form=form, status=400)


@require_POST
def subgroup_remove(request: HttpRequest, slug: str, subgroup: str, user_id: int) -> HttpResponse:
    community, group = _managed_subgroup(request, slug, subgroup)
    person = User.objects.filter(pk=user_id).first()
    if person is None:
        raise Http404("No such member.")
    try:
        services.remove_subgroup_member(signed_in(request), group, person)
    except services.SubgroupError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{person.name} removed from “{group.name}”.")
    return redirect("discussions:subgroup", slug=community.slug, subgroup=group.slug)
