from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

log = logging.getLogger(__name__)


class ServiceUnavailableMiddleware:
    """Answer 503 with a friendly page when the database is unreachable.

    With CONN_HEALTH_CHECKS on, the next request opens a fresh connection, so
    the site recovers by itself once the database is back.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, (OperationalError, InterfaceError)):
            log.error("database unavailable while serving %s: %s", request.path, exception)
            body = render_to_string("503.html", {"request": request})
            response = HttpResponse(body, status=503)
            response["Retry-After"] = "30"
            return response
        return None
