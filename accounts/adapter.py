"""allauth adapter: allauth's emails go through our outbox and Celery, with every link on SITE_URL."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings

from copsite.mail import queue_email


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


def on_site(url: str) -> str:
    """``url`` moved onto ``SITE_URL``: same path, query and fragment; scheme, host and port from settings."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return url
    return settings.SITE_URL + parts._replace(scheme="", netloc="").geturl()


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        # allauth builds its links (verification, password reset, sign-up…)
        # with request.build_absolute_uri(), i.e. from whatever Host header
        # and port the request named: a reset requested with a forged Host
        # would mail a link to the forger's server, and one made through
        # another port (a proxy, `make run` on PORT=8100) a link to that
        # port. Every link in our mail is on SITE_URL, so each "…_url" in
        # the context is moved onto it here, the one place every allauth
        # mail passes through (account, social account and MFA alike).
        context = {"email": email, **context, "current_site": mail_site()}  # allauth's send_mail adds "email" too
        for key, value in context.items():
            if key.endswith("_url") and isinstance(value, str):
                context[key] = on_site(value)
        # Same rendering as allauth (subject/txt/html templates), but the
        # message is stored as a row and sent by a worker after commit, so a
        # slow or failing SMTP server never blocks or breaks sign-up.
        msg = self.render_mail(template_prefix, email, context)
        html = None
        for alternative, mimetype in getattr(msg, "alternatives", []):
            if mimetype == "text/html":
                html = alternative
        queue_email(to=email, subject=msg.subject, text=msg.body, html=html, kind=template_prefix.rsplit("/", 1)[-1])
