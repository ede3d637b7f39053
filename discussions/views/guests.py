"""Guest experts: the facilitators' list of a thread's guests, and where a guest's link lands."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.models import signed_in
from communities import policy
from core import ratelimit
from core.refusals import Refused
from discussions import guests, queries
from discussions.forms import GuestExtendForm, GuestInviteForm
from discussions.models import Thread, ThreadGuest


def _thread_for_facilitator(request: HttpRequest, pk: int) -> Thread:
    thread = policy.get_thread_or_404(request.user, Thread.objects.all(), pk)
    if not policy.can_invite_guest(request.user, thread):
        raise Refused("Only the community's facilitators can invite guests.")
    return thread


def thread_guests(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """A thread's guests (active, ended, waiting) with revoke and extend, and the form to invite one."""
    thread = _thread_for_facilitator(request, pk)
    form = GuestInviteForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid() and (refusal := ratelimit.check(request, "invite")):
            form.add_error(None, refusal.message)
            status = 429
        elif form.is_valid():
            data = form.cleaned_data
            try:
                guests.invite_guest(
                    signed_in(request), thread, data["email"], days=data["days"], message=data["message"]
                )
            except guests.GuestError as exc:
                form.add_error("email", str(exc))
            else:
                messages.success(request, f"Invitation sent to {data['email']}.")
                return redirect("discussions:guests", slug=thread.community.slug, pk=thread.pk)
        if status == 200:
            status = 400
    context = {
        "thread": thread,
        "community": thread.community,
        "form": form,
        "places": queries.guests_of(thread),
        "extend_form": GuestExtendForm(),
        "now": timezone.now(),
    }
    return render(request, "discussions/guests.html", context, status=status)


def _place_for_facilitator(request: HttpRequest, pk: int, place_id: int) -> ThreadGuest:
    thread = _thread_for_facilitator(request, pk)
    place = ThreadGuest.objects.filter(pk=place_id, thread=thread).select_related("user").first()
    if place is None:
        raise Http404("No such guest.")
    place.thread = thread
    return place


@require_POST
def revoke(request: HttpRequest, slug: str, pk: int, place_id: int) -> HttpResponse:
    place = _place_for_facilitator(request, pk, place_id)
    guests.revoke_place(signed_in(request), place)
    messages.success(request, f"{place.email} can no longer open this thread.")
    return redirect("discussions:guests", slug=place.thread.community.slug, pk=place.thread_id)


@require_POST
def extend(request: HttpRequest, slug: str, pk: int, place_id: int) -> HttpResponse:
    place = _place_for_facilitator(request, pk, place_id)
    form = GuestExtendForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Choose between {guests.MIN_DAYS} and {guests.MAX_DAYS} days.")
    else:
        place = guests.extend_place(signed_in(request), place, form.cleaned_data["days"])
        messages.success(request, f"{place.email} can open this thread until {place.expires_at:%d %B %Y}.")
    return redirect("discussions:guests", slug=slug, pk=pk)


@never_cache
def guest_link(request: HttpRequest, token: str) -> HttpResponse:
    """Where a guest's link lands: log in or sign up, then take up the place and go to the thread.

    Opening it grants nothing (the link may be forwarded, or fetched by a mail scanner):
    the place is taken by a POST from an account with the invited address verified.
    After the place ends the link says so, and the thread is a 404 for them.
    """
    try:
        place = guests.place_from_token(token)
    except guests.GuestError as exc:
        return render(
            request,
            "discussions/guest_link.html",
            {"error": str(exc)},
            status=410 if isinstance(exc, guests.GuestAccessEnded) else 400,
        )
    thread = place.thread
    user = request.user
    if place.accepted_at is not None:
        # Their own accepted place, still running: straight to the thread.
        if user.is_authenticated and place.user_id == user.pk and policy.can_view_thread(user, thread):
            return redirect(thread)
        return render(
            request, "discussions/guest_link.html", {"error": "This guest link has already been used."}, status=400
        )
    if request.method == "POST" and user.is_authenticated:
        try:
            guests.accept_place(signed_in(request), place)
        except guests.GuestError as exc:
            return render(request, "discussions/guest_link.html", {"error": str(exc), "place": place}, status=400)
        messages.success(request, f"You can read and reply in this thread until {place.expires_at:%d %B %Y}.")
        return redirect(thread)
    context: dict[str, object] = {"place": place, "thread": thread, "community": thread.community}
    if not user.is_authenticated:
        here = request.get_full_path()
        context["signup_url"] = reverse("account_signup") + "?" + urlencode({"email": place.email, "next": here})
        context["login_url"] = reverse("account_login") + "?" + urlencode({"next": here})
    return render(request, "discussions/guest_link.html", context)
