from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import TypeAlias

from django.conf import settings
from django.core.exceptions import BadRequest
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.views import defaults

log = logging.getLogger(__name__)
# What Django hands a middleware: the rest of the chain, down to the view.
GetResponse: TypeAlias = Callable[[HttpRequest], HttpResponse]
DATABASE_DOWN = (OperationalError, InterfaceError)


def unavailable(request: HttpRequest) -> HttpResponse:
    """The friendly 503 page (static: rendering it needs no database)."""
    response = HttpResponse(render_to_string("503.html", {"request": request}), status=503)
    response["Retry-After"] = "30"
    return response


class ServiceUnavailableMiddleware:
    """Answer 503 with a friendly page when the database is unreachable.

    With CONN_HEALTH_CHECKS on, the next request opens a fresh connection, so
    the site recovers by itself once the database is back.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DATABASE_DOWN):
            log.error("database unavailable while serving %s: %s", request.path, exception)
            return unavailable(request)
        return None


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500. A middleware that meets the outage first (loading the session for the
    time zone) raises outside any view, where the middleware above never sees it:
    that is a 503 too, not a 500."""
    exception = sys.exc_info()[1]
    if isinstance(exception, DATABASE_DOWN):
        log.error("database unavailable while serving %s: %s", request.path, exception)
        return unavailable(request)
    return defaults.server_error(request)


class RejectNulMiddleware:
    """400 for a NUL character anywhere in the path or the query string.

    PostgreSQL text cannot hold U+0000: psycopg2 raises ValueError (a 500) for
    any lookup that carries one, such as ``/c/?q=%00`` or ``/u/%00/``. No URL of
    ours has a use for it, so it is refused here once rather than in every
    view. Forms refuse it in posted text with a field error of their own
    (Django's ProhibitNullCharactersValidator).
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path or any(
            "\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()
        ):
            raise BadRequest("NUL characters are not allowed in URLs.")
        return self.get_response(request)


class PermissionsPolicyMiddleware:
    """``Permissions-Policy`` on every response (Django has no setting for it).

    A forum needs no camera, microphone, location, payment or USB: turning
    them off means injected or third-party content can't ask for them either.
    """

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self.value = ", ".join(f"{feature}=()" for feature in settings.PERMISSIONS_POLICY_DISABLED)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", self.value)
        return response
