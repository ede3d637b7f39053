"""The directory of communities and each community's front page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.models import signed_in
from communities import exposure, forms, ledger, panels, policy, queries, services, watching
from communities.forms import CommunityForm, JoinForm
from communities.models import Community, Membership, is_more_open
from communities.views.welcome import welcome_context
from core import ratelimit
from core.http import next_url
from core.refusals import Refused

PAGE_SIZE = 20


def directory(request: HttpRequest) -> HttpResponse:
    query = " ".join(request.GET.get("q", "").split())[:100]
    # Each row carries the viewer's membership state: the page costs a count and one slice.
    communities = queries.directory(policy.listed_communities(request.user), query, viewer=request.user)
    page = Paginator(communities, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "communities/directory.html",
        {
            "page": page,
            "query": query,
            "can_create": policy.can_create_community(request.user),
            "can_request": request.user.is_authenticated and not policy.can_create_community(request.user),
        },
    )


def detail(request: HttpRequest, slug: str, join_form: JoinForm | None = None) -> HttpResponse:
    community = policy.get_front_page_or_404(request.user, slug)
    membership = policy.membership_of(request.user, community)
    if not policy.can_view_community(request.user, community):
        return _front_page(request, community, membership, join_form)
    if membership is not None and membership.state == Membership.State.ACTIVE:
        ledger.record_visit(signed_in(request), community, membership)
    context = _membership_context(request, community, membership, join_form)
    context["can_moderate"] = policy.can_moderate(request.user, community)
    context["can_edit"] = policy.can_edit_community(request.user, community)
    context["watch_control"] = watching.community_control(membership)
    context["panels"] = panels.render_panels("community", request, community, context)
    context["head_panels"] = panels.render_panels("community_head", request, community, context)
    if membership is not None and membership.state == Membership.State.ACTIVE and membership.welcome_due:
        # Just joined (by any route): the welcome opens the page, once.
        context.update(welcome_context(request, community), welcome_now=True)
        services.welcome_seen(signed_in(request), community)
    return render(request, "communities/detail.html", context)


def _membership_context(
    request: HttpRequest, community: Community, membership: Membership | None, join_form: JoinForm | None
) -> dict[str, object]:
    """What the community page and the restricted front page both show: the facilitators and the
    reader's way in or out."""
    return {
        "community": community,
        "membership": membership,
        "facilitators": queries.facilitators_of(community),
        "can_join": policy.can_join(request.user, community),
        "join_blocked": policy.join_blocked_reason(request.user, community),
        "can_leave": policy.can_leave(request.user, community),
        "join_form": join_form or JoinForm(),
    }


def _front_page(
    request: HttpRequest, community: Community, membership: Membership | None, join_form: JoinForm | None
) -> HttpResponse:
    """A restricted community as someone outside it sees it: its name, domain statement and
    facilitators, and a way to ask to join. Nothing else of it: no description, member count,
    threads, resources, events or feeds (the apps' panels are not asked)."""
    context = _membership_context(request, community, membership, join_form)
    context.update(can_moderate=False, can_edit=False, watch_control=None)
    return render(request, "communities/front_page.html", context)


@require_POST
def join(request: HttpRequest, slug: str) -> HttpResponse:
    # Look up first: a private community answers 404, not a login prompt
    # that would echo its slug back in a Location header.
    community = policy.get_front_page_or_404(request.user, slug)
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
        # "Join to answer" on a hosted chat comes back to the chat.
        return redirect(next_url(request, community.get_absolute_url()))
    else:
        messages.success(request, "Your request to join has been sent. A facilitator will review it; we'll email you.")
    return redirect(community)


@require_POST
def leave(request: HttpRequest, slug: str) -> HttpResponse:
    # A pending request to a restricted community is withdrawn from its front page.
    community = policy.get_front_page_or_404(request.user, slug)
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
    # A private community's page is closed to the person now (a restricted one shows its front page).
    return redirect("communities:directory" if community.is_private else community)


@login_required
def create(request: HttpRequest) -> HttpResponse:
    if not policy.can_create_community(request.user):
        raise Http404
    form = CommunityForm(request.POST or None)
    # Open creation: members create communities as they would ask for one, within the same limit.
    opened = request.method == "POST" and form.is_valid() and not policy.is_site_admin(request.user)
    if opened and (refusal := ratelimit.check(request, "community_request")):
        form.add_error(None, refusal.message)
        return refusal.stamp(render(request, "communities/form.html", {"form": form, "creating": True}))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        community = services.create_community(signed_in(request), **data)
        messages.success(request, f"{community.name} is ready. You are its owner.")
        return redirect(community)
    return render(request, "communities/form.html", {"form": form, "creating": True})


def edit(request: HttpRequest, slug: str) -> HttpResponse:
    community = policy.get_community_or_404(request.user, slug)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not policy.can_edit_community(request.user, community):
        raise Refused("You don't have permission to do that.")
    owner = policy.can_change_owner_settings(request.user, community)
    # The form edits its own copy, so a rejected edit never leaks into the page's header.
    form = CommunityForm(request.POST or None, instance=Community.objects.get(pk=community.pk), owner_settings=owner)
    context = {"form": form, "community": community, "creating": False, "owner_settings": owner}
    # "Back" on the confirmation page: the form again, as it was typed.
    if request.method != "POST" or "back" in request.POST:
        return render(request, "communities/form.html", context)
    # A facilitator's form has no visibility, join policy or address: a submission carrying
    # changed ones was forged, and is refused whole rather than half saved.
    if not owner and forms.owner_settings_tampered(request.POST, community):
        form.add_error(None, f"{services.OWNERS_ONLY} Nothing was saved.")
        return render(request, "communities/form.html", context, status=403)
    if not form.is_valid():
        return render(request, "communities/form.html", context)
    changes = {name: form.cleaned_data[name] for name in form.changed_data}
    seen = ""
    before = community.visibility
    if "visibility" in changes:
        what = exposure.of(community)
        confirmed = request.POST.get("confirm_visibility") == changes["visibility"]
        if not confirmed or request.POST.get("exposure") != what.fingerprint:
            return _confirm_visibility(request, community, form, what, changed_since=confirmed)
        seen = what.summary_for(before, changes["visibility"])
    try:
        services.update_community(request.user, community, exposure=seen, **changes)
    except services.CommunityError as exc:
        form.add_error(None, f"{exc} Nothing was saved.")
        return render(request, "communities/form.html", context, status=403)
    if "visibility" in changes:
        messages.success(request, VISIBILITY_SAVED[community.visibility].format(name=community.name))
    else:
        messages.success(request, "Community details saved.")
    return redirect("communities:detail", slug=community.slug)


VISIBILITY_SAVED: dict[str, str] = {
    Community.Visibility.OPEN: "{name} is now open: anyone can read it.",
    Community.Visibility.RESTRICTED: (
        "{name} is now restricted: anyone can find it and ask to join; only its members read it."
    ),
    Community.Visibility.PRIVATE: "{name} is now private: only its members see it.",
}


def _confirm_visibility(
    request: HttpRequest, community: Community, form: CommunityForm, what: exposure.Exposure, *, changed_since: bool
) -> HttpResponse:
    """The second step of a visibility change: exactly what becomes visible (or stops being), to whom, then confirm."""
    target = form.cleaned_data["visibility"]
    context = {
        "community": community,
        "form": form,
        "target": target,
        "target_label": Community.Visibility(target).label.split(":")[0].lower(),
        "more_open": is_more_open(target, community.visibility),
        "was_private": community.is_private,
        "exposure": what,
        "changed_since": changed_since,
        "pending": queries.pending_count(community),
    }
    return render(request, "communities/confirm_visibility.html", context)
