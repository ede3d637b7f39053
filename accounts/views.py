from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts import deletion, export
from accounts.contributions import contributions_for
from accounts.forms import DeleteAccountForm, ProfileForm
from accounts.models import User
from copsite import ratelimit


def profile(request: HttpRequest, username: str) -> HttpResponse:
    person = get_object_or_404(User, username=username, is_active=True)
    # Each provider filters through communities.policy for *this* viewer, so
    # work in a private community only shows to its members.
    items = contributions_for(request.user, person)
    return render(request, "accounts/profile.html", {"person": person, "contributions": items})


@login_required
def edit_profile(request: HttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST":
        if form.is_valid():
            form.save()
            messages.success(request, "Your profile is saved.")
            return redirect("accounts:edit-profile")
        messages.error(request, "Please correct the errors below.")
    return render(request, "accounts/edit_profile.html", {"form": form})


@login_required
def your_data(request: HttpRequest) -> HttpResponse:
    """Settings page: download everything you wrote, or delete your account."""
    return render(request, "accounts/your_data.html")


@never_cache
@login_required
@require_POST
@ratelimit.limited("export")
def download_data(request: HttpRequest) -> FileResponse:
    # No person in the URL: the zip is always the requester's own data.
    archive = export.build_zip(request.user)
    filename = f"copsite-{request.user.username}-{timezone.now():%Y-%m-%d}.zip"
    return FileResponse(archive, as_attachment=True, filename=filename, content_type="application/zip")


@never_cache
@login_required
@ratelimit.limited("delete_account")  # the form checks a password: no guessing through it
def delete_account(request: HttpRequest) -> HttpResponse:
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
    return render(request, "accounts/delete_account.html", {"form": form, "blocking": blocking})
