from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from core import drafts, ratelimit


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    # No echo of the path: a 404 must not reveal what a private URL held.
    return render(request, "404.html", status=404)


@never_cache
@require_http_methods(["GET", "PUT", "POST", "DELETE"])
def draft(request: HttpRequest, key: str) -> HttpResponse:
    """A member's own copy of one form's draft (core/drafts.py): GET it, PUT or POST it, DELETE it.

    JSON only, for site.js. Writes need the CSRF token like every form (Django's
    middleware checks it for PUT and DELETE as for POST). A visitor keeps drafts
    in the browser alone.
    """
    if not request.user.is_authenticated:
        return JsonResponse({"error": "Log in to keep drafts on the site."}, status=403)
    if refusal := ratelimit.check(request, "draft"):
        response = JsonResponse({"error": refusal.message}, status=429)
        response["Retry-After"] = str(refusal.wait)
        return response
    if not drafts.KEY.match(key):
        return JsonResponse({"error": "No such form."}, status=400)
    if request.method == "GET":
        state = drafts.read(request.user, key)
        return JsonResponse(state.as_json(), status=200 if state.fields is not None else 404)
    if request.method == "DELETE":
        drafts.discard(request.user, key)
        return HttpResponse(status=204)
    # Measured before the body is read: a draft is small, whatever a client says.
    if int(request.META.get("CONTENT_LENGTH") or 0) > drafts.MAX_BYTES + 1024:
        return JsonResponse({"error": "That draft is too large to keep."}, status=400)
    try:
        fields, typed_at = drafts.parse(request.body)
    except drafts.BadDraft as exc:
        return JsonResponse({"error": f"Not a draft ({exc})."}, status=400)
    kept, state = drafts.save(request.user, key, fields, typed_at)
    # 409: nothing kept, because what is here is newer, or the key was posted after this was typed.
    return JsonResponse(state.as_json(), status=200 if kept else 409)
