from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    # No echo of the path: a 404 must not reveal what a private URL held.
    return render(request, "404.html", status=404)
