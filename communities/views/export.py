"""Facilitators download their community as a zip (see communities/portability.py)."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from communities import policy, portability
from copsite import ratelimit


@never_cache
def export(request: HttpRequest, slug: str) -> HttpResponse:
    # Look-up first: a private community is a 404 for everyone outside it, logged in or not.
    community = policy.get_community_or_404(request.user, slug)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not policy.can_export_community(request.user, community):
        return render(request, "403.html", status=403)
    if refusal := ratelimit.check(request, "export"):
        return ratelimit.refuse(request, refusal)
    archive = portability.build_zip(community)
    filename = f"{community.slug}-{timezone.now():%Y-%m-%d}.zip"
    return FileResponse(archive, as_attachment=True, filename=filename, content_type="application/zip")
