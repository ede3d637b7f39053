"""allauth's sign-up and confirmation signals, for invitations.

An invitation link proves nothing about who opened it: it may have been
forwarded, or fetched by a mail scanner. So a sign-up through the link only
records that the new account wants in (``services.await_confirmation``), and
the membership starts when that account confirms the invited address from
the mail allauth sends to it (``services.accept_pending_invitations``). The
link is recognised by the sign-up's ``next``, which the invitation page sets
and allauth carries from the sign-up and login pages to the form.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from allauth.account.signals import email_confirmed, user_signed_up
from django.contrib import messages
from django.http import HttpRequest
from django.urls import Resolver404, resolve

from accounts.models import User
from communities import services
from communities.models import Invitation


def _invitation_in_next(request: HttpRequest | None) -> Invitation | None:
    """The open invitation whose page sent this sign-up, if any."""
    if request is None:
        return None
    target = request.POST.get("next") or request.GET.get("next") or ""
    try:
        match = resolve(urlsplit(target).path)
    except Resolver404:
        return None
    if match.view_name != "communities:invitation":
        return None
    try:
        return services.invitation_from_token(match.kwargs["token"])
    except services.MembershipError:
        return None


def _signed_up(sender: object, request: HttpRequest | None = None, user: User | None = None, **kwargs: Any) -> None:
    invitation = _invitation_in_next(request)
    if invitation is not None and user is not None:
        services.await_confirmation(user, invitation)


def _address_confirmed(sender, request: HttpRequest | None = None, email_address=None, **kwargs) -> None:
    if email_address is None:
        return
    for membership in services.accept_pending_invitations(email_address.user, email_address.email):
        if request is not None:
            messages.success(request, f"Welcome to {membership.community.name}! You are now a member.")


def connect() -> None:
    user_signed_up.connect(_signed_up, dispatch_uid="communities-invitation-signup")
    email_confirmed.connect(_address_confirmed, dispatch_uid="communities-invitation-confirmed")
