from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from accounts import services
from accounts.contributions import contributions_for
from accounts.forms import ProfileForm
from accounts.models import AuthenticatedRequest, User


def profile(request: HttpRequest, username: str) -> HttpResponse:
    person = get_object_or_404(User, username=username, is_active=True)
    # Each provider filters through communities.policy for *this* viewer, so
    # work in a private community only shows to its members.
    items = contributions_for(request.user, person)
    return render(request, "accounts/profile.html", {"person": person, "contributions": items})


@login_required
def edit_profile(request: AuthenticatedRequest) -> HttpResponse:
    # The form edits a copy: a rejected name never shows in the page's own header.
    form = ProfileForm(request.POST or None, instance=User.objects.get(pk=request.user.pk))
    if request.method == "POST":
        if form.is_valid():
            services.update_profile(request.user, **{name: form.cleaned_data[name] for name in form.Meta.fields})
            messages.success(request, "Your profile is saved.")
            return redirect("accounts:edit-profile")
        messages.error(request, "Please correct the errors below.")
    return render(request, "accounts/edit_profile.html", {"form": form})
