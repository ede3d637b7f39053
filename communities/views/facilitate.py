"""The facilitator dashboard, member actions and invitations."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import signed_in
from communities import audit, panels, participation, policy, queries, services
from communities.forms import AuditFilterForm, BanForm, BuddyForm, InviteForm, LevelForm, RoleForm
from communities.models import Membership
from core import ratelimit
from core.refusals import Refused

MEMBERS_PER_PAGE = 50


def _community_for_facilitator(request: HttpRequest, slug: str):
    """The community and, when the viewer may not manage it, the response to send instead.

    Look-up comes before the login check: a private community is a 404 for
    everyone outside it, logged in or not.
    """
    community = policy.get_community_or_404(request.user, slug)
    if not request.user.is_authenticated:
        return community, redirect_to_login(request.get_full_path())
    if not policy.can_manage_members(request.user, community):
        raise Refused("You don't have permission to do that.")
    return community, None


def dashboard(request: HttpRequest, slug: str, invite_form: InviteForm | None = None) -> HttpResponse:
    community, refused = _community_for_facilitator(request, slug)
    if refused:
        return refused
    level_filter = request.GET.get("level", "")
    members = queries.active_members(community, level_filter if level_filter in Membership.Level.values else "")
    page = Paginator(members, MEMBERS_PER_PAGE).get_page(request.GET.get("page"))
    series = participation.weekly_series(community)
    context = {
        "community": community,
        "pending": queries.pending_requests(community),
        "page": page,
        "level_filter": level_filter,
        "levels": Membership.Level.choices,
        "roles": Membership.Role.choices,
        "banned": queries.banned_members(community),
        "invitations": queries.recent_invitations(community),
        "audit": [(entry, audit.describe(entry)) for entry in queries.recent_audit(community)],
        "series": series,
        "level_rules": participation.level_rules_text(),
        "invite_form": invite_form or InviteForm(),
        "viewer_membership": policy.membership_of(request.user, community),
        "can_pair_buddies": policy.can_pair_buddies(request.user, community),
    }
    context["panels"] = panels.render_panels("dashboard", request, community, context)
    status = 200 if invite_form is None or invite_form.is_valid() else 400
    return render(request, "communities/dashboard.html", context, status=status)


MEMBER_ACTIONS = {"approve", "decline", "role", "remove", "ban", "unban", "level", "buddy", "unbuddy"}
# Asked first: GET shows what will happen, the POST from that page does it.
CONFIRMED_ACTIONS = {"remove", "ban"}
AUDIT_PER_PAGE = 50


def _confirm_page(
    request: HttpRequest, community, membership_id: int, action: str, form: BanForm | None = None, status: int = 200
) -> HttpResponse:
    target = queries.member_in(community, membership_id)
    if target is None:
        return render(request, "404.html", status=404)
    allowed = (
        policy.can_ban(request.user, target) if action == "ban" else policy.can_remove_member(request.user, target)
    )
    if not allowed:
        raise Refused("You can't remove that person.")
    context = {
        "community": community,
        "target": target,
        "action": action,
        "form": form if form is not None else (BanForm() if action == "ban" else None),
        "back": reverse("communities:facilitate", kwargs={"slug": community.slug}),
    }
    return render(request, "communities/confirm_member_action.html", context, status=status)


@require_http_methods(["GET", "POST"])
def member_action(request: HttpRequest, slug: str, membership_id: int, action: str) -> HttpResponse:
    community, refused = _community_for_facilitator(request, slug)
    if refused:
        return refused
    if action not in MEMBER_ACTIONS:
        return render(request, "404.html", status=404)
    if request.method == "GET":
        if action not in CONFIRMED_ACTIONS:
            return HttpResponseNotAllowed(["POST"])
        return _confirm_page(request, community, membership_id, action)
    back = reverse("communities:facilitate", kwargs={"slug": community.slug})
    try:
        if action in ("approve", "decline"):
            target = services.decide_request(signed_in(request), community, membership_id, approve=action == "approve")
            verb = "approved" if action == "approve" else "declined"
            messages.success(request, f"{target.user.name}'s request is {verb}; they'll get an email.")
        elif action == "role":
            form = RoleForm(request.POST)
            if not form.is_valid():
                raise services.MembershipError("Choose a role.")
            target = services.set_role(signed_in(request), community, membership_id, form.cleaned_data["role"])
            messages.success(request, f"{target.user.name} is now {target.get_role_display().lower()}.")
        elif action == "remove":
            target = services.remove_member(signed_in(request), community, membership_id, ban=False)
            messages.success(request, f"{target.user.name} is removed (they may rejoin).")
        elif action == "ban":
            ban_form = BanForm(request.POST)
            if not ban_form.is_valid():
                return _confirm_page(request, community, membership_id, action, form=ban_form, status=400)
            until = ban_form.until_moment()
            target = services.remove_member(
                signed_in(request),
                community,
                membership_id,
                ban=True,
                reason=ban_form.cleaned_data["reason"],
                until=until,
            )
            ending = f" until {audit.day_words(until)}" if until is not None else ""
            messages.success(request, f"{target.user.name} is banned{ending}; they'll get an email.")
        elif action == "buddy":
            buddy_form = BuddyForm(request.POST)
            if not buddy_form.is_valid():
                raise services.MembershipError("Type the username of the member who will be the buddy.")
            target = services.pair_buddy(
                signed_in(request), community, membership_id, buddy_form.cleaned_data["username"]
            )
            buddy_name = target.buddy.name if target.buddy is not None else ""
            messages.success(request, f"{target.user.name}'s buddy is {buddy_name}; both are told.")
        elif action == "unbuddy":
            target = services.unpair_buddy(signed_in(request), community, membership_id)
            messages.success(request, f"{target.user.name} no longer has a buddy.")
        elif action == "unban":
            target = services.unban(signed_in(request), community, membership_id)
            messages.success(request, f"{target.user.name} is no longer banned.")
        else:  # level
            level_form = LevelForm(request.POST)
            if not level_form.is_valid():
                raise services.MembershipError("Choose one of the participation levels.")
            target = services.pin_level(
                signed_in(request), community, membership_id, level_form.cleaned_data["level"] or None
            )
            shown = target.get_level_display().lower() if target.level_pinned else "computed each night"
            messages.success(request, f"{target.user.name}'s level is {shown}.")
    except services.MembershipError as exc:
        messages.error(request, str(exc))
    return redirect(back)


def audit_log(request: HttpRequest, slug: str) -> HttpResponse:
    """The community's audit log for its facilitators: 50 a page, by action and by person, in words."""
    community = policy.get_community_or_404(request.user, slug)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not policy.can_view_audit_log(request.user, community):
        raise Refused("You don't have permission to do that.")
    form = AuditFilterForm(request.GET or None)
    chosen = form.cleaned_data if form.is_bound and form.is_valid() else {"action": "", "person": ""}
    entries = queries.audit_log(community, action=chosen["action"], person=chosen["person"])
    page = Paginator(entries, AUDIT_PER_PAGE).get_page(request.GET.get("page"))
    lines = [(entry, audit.describe(entry)) for entry in page.object_list]
    context = {"community": community, "form": form, "page": page, "lines": lines, "params": chosen}
    # A filter that does not parse shows its error above the whole log (a search answers with a page).
    return render(request, "communities/audit_log.html", context)


@require_POST
def invite(request: HttpRequest, slug: str) -> HttpResponse:
    community, refused = _community_for_facilitator(request, slug)
    if refused:
        return refused
    form = InviteForm(request.POST)
    if form.is_valid() and (refusal := ratelimit.check(request, "invite")):
        form.add_error(None, refusal.message)
        return refusal.stamp(dashboard(request, slug, invite_form=form))
    if not form.is_valid():
        messages.error(request, "Please correct the invitation below.")
        return dashboard(request, slug, invite_form=form)
    try:
        services.invite(signed_in(request), community, form.cleaned_data["email"], form.cleaned_data["message"])
    except services.MembershipError as exc:
        form.add_error("email", str(exc))
        return dashboard(request, slug, invite_form=form)
    messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
    return redirect("communities:facilitate", slug=community.slug)


@never_cache
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """Where an invitation link lands: sign up or log in, then accept.

    The link is not proof of anything (forwarded, or fetched first by a mail
    scanner), so this page grants nothing by being opened: a sign-up through
    it joins once the invited address is confirmed (communities/receivers.py),
    a logged-in account accepts with the invited address verified
    (``services.accept_invitation``). Its answer depends on the token and the
    visitor, so no cache keeps it.
    """
    try:
        invite = services.invitation_from_token(token)
    except services.InvitationUsed as exc:
        # Back from confirming the address (allauth returns to the sign-up's
        # ``next``): the invitation was accepted for this very person.
        if request.user.is_authenticated and exc.invitation.accepted_by_id == request.user.pk:
            return redirect(exc.invitation.community)
        return render(request, "communities/invitation.html", {"error": str(exc)}, status=400)
    except services.MembershipError as exc:
        return render(request, "communities/invitation.html", {"error": str(exc)}, status=400)
    community = invite.community
    if request.method == "POST" and request.user.is_authenticated:
        try:
            services.accept_invitation(request.user, invite)
        except services.MembershipError as exc:
            return render(request, "communities/invitation.html", {"error": str(exc), "invitation": invite}, status=400)
        messages.success(request, f"Welcome to {community.name}! You are now a member.")
        return redirect(community)
    context: dict[str, object] = {"invitation": invite, "community": community}
    if not request.user.is_authenticated:
        here = request.get_full_path()
        context["signup_url"] = reverse("account_signup") + "?" + urlencode({"email": invite.email, "next": here})
        context["login_url"] = reverse("account_login") + "?" + urlencode({"next": here})
    return render(request, "communities/invitation.html", context)
