"""allauth adapter: allauth's emails go through our outbox and Celery."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter

from copsite.mail import queue_email


class AccountAdapter(DefaultAccountAdapter):
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
