"""Your data (download, account deletion) and the facilitators' community export.

These pages read every app, so they live here, above ``digests``, rather
than in ``accounts`` or ``communities``, which import none of the apps
built on them.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

import portability.community
from accounts.models import AuthenticatedRequest
from communities import panels, policy
from communities.models import Community
from core import ratelimit
from core.refusals import Refused
from portability import deletion, member
from portability.forms import DeleteAccountForm


@login_required
def your_data(request: HttpRequest) -> HttpResponse:
    """Settings page: download everything you wrote, or delete your account."""
    return render(request, "portability/your_data.html")


@never_cache
@login_required
@require_POST
@ratelimit.limited("export")
def download_data(request: AuthenticatedRequest) -> FileResponse:
    # No person in the URL: the zip is always the requester's own data.
    archive = member.build_zip(request.user)
    filename = f"copsite-{request.user.username}-{timezone.now():%Y-%m-%d}.zip"
    return FileResponse(archive, as_attachment=True, filename=filename, content_type="application/zip")


@never_cache
@login_required
@ratelimit.limited("delete_account")  # the form checks a password: no guessing through it
def delete_account(request: AuthenticatedRequest) -> HttpResponse:
    form = DeleteAccountForm(request.POST or None, user=request.user)
    blocking = deletion.communities_blocking_deletion(request.user)
    if request.method == "POST" and form.is_valid():
        try:
            deletion.delete_account(request.user)
        except deletion.DeletionError as error:
            messages.error(request, str(error))
        else:
            logout(request)
            messages.success(request, "Your account is deleted. What you wrote stays, as “Former member”.")
            return redirect("home")
    return render(request, "portability/delete_account.html", {"form": form, "blocking": blocking})


@never_cache
@require_http_methods(["GET", "POST"])
def export(request: HttpRequest, slug: str) -> HttpResponseBase:
    # Look-up first: a private community is a 404 for everyone outside it, logged in or not.
    community = policy.get_community_or_404(request.user, slug)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not policy.can_export_community(request.user, community):
        raise Refused("You don't have permission to do that.")
    # The zip is made by a POST with the CSRF token, like the member download: a link
    # (an image tag on another site, a prefetch) never builds one in someone's name.
    if request.method != "POST":
        return render(request, "portability/export_community.html", {"community": community})
    if refusal := ratelimit.check(request, "export"):
        return ratelimit.refuse(request, refusal)
    archive = portability.community.build_zip(community)
    filename = f"{community.slug}-{timezone.now():%Y-%m-%d}.zip"
    return FileResponse(archive, as_attachment=True, filename=filename, content_type="application/zip")


def export_panel(request: HttpRequest, community: Community) -> panels.Panel | None:
    """The "Export this community" section of the facilitator dashboard."""
    if not policy.can_export_community(request.user, community):
        return None
    return panels.Panel("portability/_export_panel.html", order=60)
