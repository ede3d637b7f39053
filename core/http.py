"""Request types the views annotate with (types only: Django hands every view its usual request)."""

from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxRequest(HttpRequest):
    """A request that went through django-htmx's middleware: ``request.htmx`` says whether htmx sent it."""

    htmx: HtmxDetails
