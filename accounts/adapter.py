"""allauth adapter: allauth's emails go through our outbox and Celery, with every link on SITE_URL;
failed logins count per address; only an account's holder confirms its address."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailAddress, EmailConfirmation
from allauth.account.stages import EmailVerificationStage, LoginStageController
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.crypto import constant_time_compare

from accounts import names
from core.mail import queue_email
from core.ratelimit import client_network
from core.wording import house_words

if TYPE_CHECKING:
    from accounts.models import User

# Session key: the account this browser signed up, with the password it chose
# (as Django's session auth hash, so a password reset ends the claim).
SIGNED_UP_HERE = "accounts.signed_up_here"


def holder_is_here(request: HttpRequest, user: User) -> bool:
    """Whether this browser belongs to the holder of account ``user``.

    That is: logged in as it, or it signed up here with the password the
    account still has, or it is part-way through signing in to it
    (allauth's pending email-verification step after a correct password).
    """
    if request.user.is_authenticated:
        return request.user.pk == user.pk
    signed_up = request.session.get(SIGNED_UP_HERE)
    if (
        isinstance(signed_up, dict)
        and signed_up.get("id") == user.pk
        and constant_time_compare(str(signed_up.get("hash", "")), user.get_session_auth_hash())
    ):
        return True
    stage = LoginStageController.enter(request, EmailVerificationStage.key)
    return bool(stage and stage.login.user and stage.login.user.pk == user.pk)


@dataclass(frozen=True)
class MailSite:
    """What allauth's mail templates read as ``current_site``: ``name`` and ``domain``."""

    name: str
    domain: str


def mail_site() -> MailSite:
    # allauth's default asks the Sites framework, whose row says "example.com"
    # until someone edits it; the greeting and sign-off name the site as
    # configured instead ("Hello from copsite!"; "an account on forum.example.org").
    return MailSite(name=settings.COPSITE_NAME, domain=urlsplit(settings.SITE_URL).netloc)


def site_url(path: str) -> str:
    """The address of ``path`` on this site as configured (``SITE_URL``), whatever the request said."""
    return settings.SITE_URL + path


def on_site(url: str) -> str:
    """``url`` moved onto ``SITE_URL``: same path, query and fragment; scheme, host and port from settings."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return url
    return settings.SITE_URL + parts._replace(scheme="", netloc="").geturl()


class AccountAdapter(DefaultAccountAdapter):
    def clean_username(self, username: str, shallow: bool = False) -> str:
        # Sign-up, and the usernames allauth makes up for social sign-ups (the
        # "shallow" calls): no look-alike of a reserved name or of anyone's here.
        username = super().clean_username(username, shallow=shallow)
        from accounts.models import User

        names.check_username(User, username)
        return username

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        # allauth's "login_failed" limit (ACCOUNT_RATE_LIMITS: 5 per 5 minutes
        # per key) keys on the typed email alone, so anyone who knows a
        # member's address could keep them out with five wrong passwords a
        # go. Keyed on the client address *and* the email, the guesser only
        # locks themself out: the member signs in from their own address.
        # Guessing stays slow: 5 tries per 5 minutes per address and account,
        # 10 failures a minute per address over all accounts, Argon2 hashes
        # and the password rules (README: Security choices).
        return f"{client_network(request)}:{super()._get_login_attempts_cache_key(request, **credentials)}"

    # allauth builds the links it mails (verification, password reset,
    # sign-up…) with request.build_absolute_uri(), i.e. from whatever Host
    # header and port the request named: a reset requested with a forged Host
    # would mail a link to the forger's server, and one made through another
    # port (a proxy, `make run` on PORT=8100) a link to that port. Every link
    # in our mail is on SITE_URL: the adapter's URL builders below build on
    # it, and send_mail moves any other "…_url" of a mail's context onto it
    # (allauth's "no account here" mail builds its sign-up link without a hook).

    def get_reset_password_from_key_url(self, key: str) -> str:
        # allauth's own spelling: the opaque "uid-key" stands where the two parts would.
        path = reverse("account_reset_password_from_key", kwargs={"uidb36": "UID", "key": "KEY"})
        return site_url(path.replace("UID-KEY", quote(key)))

    def get_email_confirmation_url(self, request: HttpRequest, emailconfirmation: EmailConfirmation) -> str:
        return site_url(reverse("account_confirm_email", args=[emailconfirmation.key]))

    def send_account_already_exists_mail(self, email: str) -> None:
        context = {
            "signup_url": site_url(reverse("account_signup")),
            "password_reset_url": site_url(reverse("account_reset_password")),
        }
        self.send_mail("account/email/account_already_exists", email, context)

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        # The one place every allauth mail passes through (account, social
        # account and MFA alike): links onto SITE_URL, the site's name.
        context = {"email": email, **context, "current_site": mail_site()}  # allauth's send_mail adds "email" too
        for key, value in context.items():
            if key.endswith("_url") and isinstance(value, str):
                context[key] = on_site(value)
        # Same rendering as allauth (subject/txt/html templates), but the
        # message is stored as a row and sent by a worker after commit, so a
        # slow or failing SMTP server never blocks or breaks sign-up.
        msg = self.render_mail(template_prefix, email, context)
        html_part = None
        for alternative, mimetype in getattr(msg, "alternatives", []):
            if mimetype == "text/html":
                html_part = alternative
        queue_email(
            to=email,
            subject=house_words(msg.subject),
            text=house_words(msg.body),
            html=html_part,
            kind=template_prefix.rsplit("/", 1)[-1],
        )

    def add_message(
        self,
        request: HttpRequest,
        level: int,
        message_template: str | None = None,
        message_context: dict[str, Any] | None = None,
        extra_tags: str = "",
        message: str | None = None,
    ) -> None:
        # allauth's messages ("Successfully signed in as …", "You have signed
        # out.") in the site's words (core/wording.py).
        if message is None and message_template:
            message = html.unescape(render_to_string(message_template, message_context or {}, request).strip())
        if message:
            super().add_message(request, level, extra_tags=extra_tags, message=house_words(message))

    def save_user(self, request: HttpRequest, user: User, form: Any, commit: bool = True) -> User:
        user = super().save_user(request, user, form, commit=commit)
        if commit and request is not None and hasattr(request, "session"):
            request.session[SIGNED_UP_HERE] = {"id": user.pk, "hash": user.get_session_auth_hash()}
        return user

    def confirm_email(self, request: HttpRequest, email_address: EmailAddress) -> bool:
        """A confirmation link counts only in a browser of the account's holder.

        allauth confirms for whoever follows the link. Then anyone could sign
        up with someone else's address, and the address's owner, following
        the mail ("confirm your address"), would verify the stranger's
        account, which then passes for the owner: invitations to that
        address (communities.services.accept_invitation) would let the
        stranger in. Requiring the holder as well as the mailbox means a
        verified address was proven by the person who uses the account.
        Someone else is sent to log in first; an owner who never made that
        account takes it over with "Forgot your password?", which mails them.
        """
        if not holder_is_here(request, email_address.user):
            messages.error(
                request,
                f"To confirm {email_address.email}, log in as {email_address.user.username} in this browser, "
                "then open the link again. If you did not create that account, nobody can use it until "
                "the address is confirmed; if the address is yours, “Forgot your password?” lets you take it over.",
            )
            return False
        return super().confirm_email(request, email_address)
