"""The directory of communities and each community's front page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.models import NAME_FIELDS, User
from communities import ledger, panels, policy, services
from communities.forms import CommunityForm, JoinForm
from communities.models import Community, Membership
from copsite.db import Columns, fetch_all

PAGE_SIZE = 20


def directory(request: HttpRequest) -> HttpResponse:
    query = " ".join(request.GET.get("q", "").split())[:100]
    communities = policy.visible_communities(request.user)
    if query:
        communities = communities.filter(Q(name__icontains=query) | Q(domain__icontains=query))
    communities = communities.order_by("-last_activity_at", "name")
    page = Paginator(communities, PAGE_SIZE).get_page(request.GET.get("page"))
    states: dict[int, str] = {}
    if request.user.is_authenticated:
        states = dict(
            Membership.objects.filter(user=request.user, community__in=[c.pk for c in page]).values_list(
                "community_id", "state"
            )
        )
    for community in page:
        community.viewer_state = states.get(community.pk)
    return render(
        request,
        "communities/directory.html",
        {"page": page, "query": query, "can_create": policy.can_create_community(request.user)},
    )


def detail(request: HttpRequest, slug: str, join_form: JoinForm | None = None) -> HttpResponse:
    community = policy.get_community_or_404(request.user, slug)
    membership = policy.membership_of(request.user, community)
    if membership is not None and membership.state == Membership.State.ACTIVE:
        ledger.record_visit(request.user, community, membership)
    context = {
        "community": community,
        "membership": membership,
        "facilitators": facilitators_of(community),
        "can_join": policy.can_join(request.user, community),
        "join_blocked": policy.join_blocked_reason(request.user, community),
        "can_leave": policy.can_leave(request.user, community),
        "can_moderate": policy.can_moderate(request.user, community),
        "can_edit": policy.can_edit_community(request.user, community),
        "join_form": join_form or JoinForm(),
    }
    context["panels"] = panels.render_panels("community", request, community, context)
    context["head_panels"] = panels.render_panels("community_head", request, community, context)
    return render(request, "communities/detail.html", context)


# The people who look after a community, as its page names them: written out
# (copsite.db.Columns), since composing the ORM query cost more than running it.
_FACILITATOR_COLUMNS = Columns(Membership, "m", fields=["user", "community", "role", "state", "joined_at"])
_PERSON_COLUMNS = Columns(User, "u", fields=NAME_FIELDS)
_FACILITATORS_SQL = (
    f"SELECT {_FACILITATOR_COLUMNS.sql}, {_PERSON_COLUMNS.sql} FROM {Membership._meta.db_table} m"  # noqa: S608
    f" JOIN {User._meta.db_table} u ON u.id = m.user_id"
    " WHERE m.community_id = %s AND m.state = %s AND m.role IN (%s, %s)"
    " ORDER BY m.role DESC, m.joined_at LIMIT %s"
)
SHOWN_FACILITATORS = 12


def facilitators_of(community: Community) -> list[Membership]:
    """Owners, then facilitators, longest-serving first (memberships with ``user`` loaded)."""
    Role = Membership.Role
    rows = fetch_all(
        _FACILITATORS_SQL, [community.pk, Membership.State.ACTIVE, Role.OWNER, Role.FACILITATOR, SHOWN_FACILITATORS]
    )
    shown = []
    for row in rows:
        membership = _FACILITATOR_COLUMNS.build(row)
        membership.community = community
        membership.user = _PERSON_COLUMNS.build(row, _FACILITATOR_COLUMNS.width)
        shown.append(membership)
    return shown


@require_POST
def join(request: HttpRequest, slug: str) -> HttpResponse:
    # Look up first: a private community answers 404, not a login prompt
    # that would echo its slug back in a Location header.
    community = policy.get_community_or_404(request.user, slug)
    if not request.user.is_authenticated:
        return redirect_to_login(community.get_absolute_url())
    form = JoinForm(request.POST)
    if not form.is_valid():
        # The community page again, with the message as typed and the error beside it.
        response = detail(request, slug, join_form=form)
        response.status_code = 400
        return response
    try:
        membership = services.join(request.user, community, form.cleaned_data["message"])
    except services.MembershipError as exc:
        messages.info(request, str(exc))
        return redirect(community)
    if membership.state == Membership.State.ACTIVE:
        messages.success(request, f"Welcome to {community.name}! You are now a member.")
    else:
        messages.success(request, "Your request to join has been sent. A facilitator will review it; we'll email you.")
    return redirect(community)


@require_POST
def leave(request: HttpRequest, slug: str) -> HttpResponse:
    community = policy.get_community_or_404(request.user, slug)
    if not request.user.is_authenticated:
        return redirect_to_login(community.get_absolute_url())
    before = policy.membership_of(request.user, community)
    withdrew = before is not None and before.state == Membership.State.PENDING
    try:
        services.leave(request.user, community)
    except services.MembershipError as exc:
        messages.error(request, str(exc))
        return redirect(community)
    messages.success(request, "Your request is withdrawn." if withdrew else f"You have left {community.name}.")
    # A private community's page is closed to the person now.
    return redirect("communities:directory" if community.is_private else community)


@login_required
def create(request: HttpRequest) -> HttpResponse:
    if not policy.can_create_community(request.user):
        raise Http404
    form = CommunityForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        community = services.create_community(request.user, **data)
        messages.success(request, f"{community.name} is ready. You are its owner.")
        return redirect(community)
    return render(request, "communities/form.html", {"form": form, "creating": True})


def edit(request: HttpRequest, slug: str) -> HttpResponse:
    community = policy.get_community_or_404(request.user, slug)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not policy.can_edit_community(request.user, community):
        return render(request, "403.html", status=403)
    # The form edits its own copy, so a rejected edit never leaks into the page's header.
    form = CommunityForm(request.POST or None, instance=Community.objects.get(pk=community.pk))
    if request.method == "POST" and form.is_valid():
        services.update_community(request.user, community, **{f: form.cleaned_data[f] for f in form.changed_data})
        messages.success(request, "Community details saved.")
        return redirect("communities:detail", slug=community.slug)
    return render(request, "communities/form.html", {"form": form, "community": community, "creating": False})
