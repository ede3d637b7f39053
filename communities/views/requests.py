"""Asking for a new community, and the site admins' queue of such requests.

Members with a verified address ask (name, domain statement, why, who may see
and join it); a site admin approves, which creates the community owned by the
person who asked, or declines with a reason. Both are emailed. With
``COPSITE_OPEN_COMMUNITY_CREATION`` on, the request page sends them to the
create form instead: they create it at once.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.models import signed_in
from communities import policy, queries, services
from communities.forms import CommunityRequestForm, DeclineRequestForm
from communities.models import CommunityRequest
from core import ratelimit


@login_required
def request_community(request: HttpRequest) -> HttpResponse:
    """The person's requests and their state, and the form while none is waiting."""
    user = signed_in(request)
    if settings.COPSITE_OPEN_COMMUNITY_CREATION and policy.can_create_community(user):
        return redirect("communities:create")
    verified = policy.can_request_community(user)
    form = CommunityRequestForm(request.POST or None, requester=user)
    status = 200
    if request.method == "POST":
        if not verified:
            # The page says why; nothing is stored.
            status = 403
        elif form.is_valid() and (refusal := ratelimit.check(request, "community_request")):
            form.add_error(None, refusal.message)
            return refusal.stamp(_request_page(request, form, verified))
        elif form.is_valid():
            try:
                services.request_community(user, **form.cleaned_data)
            except services.CommunityRequestError as exc:
                form.add_error(None, str(exc))
                status = 400
            else:
                messages.success(request, "Your request is sent. A site admin will decide; we'll email you.")
                return redirect("communities:request")
        else:
            status = 400
    response = _request_page(request, form, verified)
    response.status_code = status
    return response


def _request_page(request: HttpRequest, form: CommunityRequestForm, verified: bool) -> HttpResponse:
    mine = queries.community_requests_of(signed_in(request))
    pending = next((r for r in mine if r.state == CommunityRequest.State.PENDING), None)
    context = {"form": form, "verified": verified, "requests": mine, "pending": pending}
    return render(request, "communities/request.html", context)


def _site_admin_only(request: HttpRequest) -> None:
    # Missing and forbidden look the same: the queue is not announced to anyone else.
    if not policy.can_decide_community_requests(request.user):
        raise Http404


def request_queue(request: HttpRequest, decline_forms: dict[int, DeclineRequestForm] | None = None) -> HttpResponse:
    """Site admins: the requests waiting (oldest first), each with Approve and Decline, and the latest decided."""
    _site_admin_only(request)
    pending = queries.pending_community_requests()
    forms = decline_forms or {}
    rows = [(r, forms.get(r.pk) or DeclineRequestForm(auto_id=_ids(r.pk))) for r in pending]
    context = {"rows": rows, "decided": queries.decided_community_requests()}
    return render(request, "communities/request_queue.html", context, status=400 if decline_forms else 200)


def _ids(pk: int) -> str:
    # One decline form per request on the page: each field's id names its request.
    return f"decline-{pk}-%s"


@require_POST
def decide(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    _site_admin_only(request)
    actor = signed_in(request)
    if action not in ("approve", "decline"):
        raise Http404
    try:
        if action == "approve":
            found = services.approve_community_request(actor, pk)
            community = found.community
            assert community is not None
            messages.success(request, f"{community.name} is created; {found.requester.name} owns it and is told.")
        else:
            form = DeclineRequestForm(request.POST, auto_id=_ids(pk))
            if not form.is_valid():
                # The queue again, with the reason as typed and the error beside it.
                return request_queue(request, decline_forms={pk: form})
            found = services.decline_community_request(actor, pk, form.cleaned_data["reason"])
            messages.success(request, f"The request for “{found.name}” is declined; {found.requester.name} is told.")
    except services.CommunityRequestError as exc:
        messages.error(request, str(exc))
    return redirect("communities:requests")
