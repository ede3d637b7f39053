"""allauth adapter: allauth's emails go through our outbox and Celery; failed logins count per address."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest

from accounts import names
from copsite.mail import queue_email
from copsite.ratelimit import client_network


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

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        # Same rendering as allauth (subject/txt/html templates), but the
        # message is stored as a row and sent by a worker after commit, so a
        # slow or failing SMTP server never blocks or breaks sign-up.
        msg = self.render_mail(template_prefix, email, context)
        html = None
        for alternative, mimetype in getattr(msg, "alternatives", []):
            if mimetype == "text/html":
                html = alternative
        queue_email(to=email, subject=msg.subject, text=msg.body, html=html, kind=template_prefix.rsplit("/", 1)[-1])
