from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from accounts.forms import ProfileForm
from accounts.models import User


def profile(request: HttpRequest, username: str) -> HttpResponse:
    person = get_object_or_404(User, username=username, is_active=True)
    # Contributions arrive with the discussions and resources issues; they
    # will be filtered through communities.policy so private work never shows.
    return render(request, "accounts/profile.html", {"person": person, "contributions": []})


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
