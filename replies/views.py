"""The ESP's webhooks (django-anymail): inbound mail and delivery events, for the one ESP configured.

anymail authenticates every call before anything is read: Mailgun's are signed
with MAILGUN_WEBHOOK_SIGNING_KEY, the others carry ANYMAIL_WEBHOOK_SECRET as
basic auth in the URL. That, not a CSRF token, is what a webhook can show, so
these views are exempt from CSRF. An ESP other than ANYMAIL_INBOUND_ESP gets 404.
"""

from __future__ import annotations

from anymail.webhooks.amazon_ses import AmazonSESInboundWebhookView, AmazonSESTrackingWebhookView
from anymail.webhooks.mailgun import MailgunInboundWebhookView, MailgunTrackingWebhookView
from anymail.webhooks.mailjet import MailjetInboundWebhookView, MailjetTrackingWebhookView
from anymail.webhooks.postmark import PostmarkInboundWebhookView, PostmarkTrackingWebhookView
from anymail.webhooks.sendgrid import SendGridInboundWebhookView, SendGridTrackingWebhookView
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponseBase
from django.views import View
from django.views.decorators.csrf import csrf_exempt

# ESP → (inbound view, tracking view); their signals reach replies/mailhooks.py.
WEBHOOKS: dict[str, tuple[type[View], type[View]]] = {
    "mailgun": (MailgunInboundWebhookView, MailgunTrackingWebhookView),
    "postmark": (PostmarkInboundWebhookView, PostmarkTrackingWebhookView),
    "sendgrid": (SendGridInboundWebhookView, SendGridTrackingWebhookView),
    "amazon_ses": (AmazonSESInboundWebhookView, AmazonSESTrackingWebhookView),
    "mailjet": (MailjetInboundWebhookView, MailjetTrackingWebhookView),
}


def _view(esp: str, which: int) -> type[View]:
    if esp != settings.ANYMAIL_INBOUND_ESP or esp not in WEBHOOKS:
        raise Http404("No such webhook.")
    return WEBHOOKS[esp][which]


@csrf_exempt  # authenticated by the ESP's signature or secret (module docstring)
def inbound(request: HttpRequest, esp: str) -> HttpResponseBase:
    response: HttpResponseBase = _view(esp, 0).as_view()(request)
    return response


@csrf_exempt  # authenticated by the ESP's signature or secret (module docstring)
def tracking(request: HttpRequest, esp: str) -> HttpResponseBase:
    response: HttpResponseBase = _view(esp, 1).as_view()(request)
    return response
