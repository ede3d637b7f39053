"""One way to say no: services raise ``Refused`` with the sentence the person reads; one handler answers it.

A write that can't happen (not a member, a locked thread, a hidden post, a
limit) raises ``Refused`` (or an app's subclass of it, e.g.
``discussions.services.DiscussionError``). Views call the service and let a
refusal go; ``RefusalMiddleware`` turns it into the response that fits the
request: a login page for someone not logged in, and otherwise the 403 page
with the sentence (for an htmx request too: site.js reads the sentence from
it and shows it beside the form, which keeps what was typed). A view that wants the sentence
beside its form, keeping what was typed, catches it and does so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

if TYPE_CHECKING:
    from core.middleware import GetResponse


class Refused(Exception):
    """An action the person may not take now; ``str(refused)`` is the sentence they read."""

    def __init__(self, message: str, *, status: int = 403) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def refusal_response(request: HttpRequest, refused: Refused) -> HttpResponse:
    user = getattr(request, "user", None)
    htmx = getattr(request, "htmx", False)
    if user is not None and not user.is_authenticated and refused.status == 403 and not htmx:
        return redirect_to_login(request.get_full_path())
    # The same page for htmx: site.js reads the sentence (.refusal) and shows it beside the form.
    return render(request, "403.html", {"message": refused.message}, status=refused.status)


class RefusalMiddleware:
    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, Refused):
            return refusal_response(request, exception)
        return None
