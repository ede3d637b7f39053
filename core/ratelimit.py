"""Small fixed-window rate limits kept in Django's cache (Redis in production: shared by all workers).

allauth limits sign-up, login and password reset itself (``ACCOUNT_RATE_LIMITS``);
this covers everything else people can do in bulk: posting, reactions, flags,
invitations, search and resources. Each action is counted twice, once per
person and once per IP address (``RATE_LIMITS`` in settings), so a spammer
gains nothing by switching accounts behind one address, nor addresses with one
account. If the cache is unreachable the limiter lets the request through
(fail open) and logs it: a cache outage must not stop members from posting
(docs/reliability.md, "Caches fail open").
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render

log = logging.getLogger(__name__)


def parse_limits(spec: str) -> list[tuple[int, int]]:
    """ "5/60,60/3600" → [(5, 60), (60, 3600)]: at most N actions per S seconds."""
    limits = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        count, seconds = part.split("/")
        limits.append((int(count), int(seconds)))
    return limits


def consume(action: str, key: str, spec: str) -> int | None:
    """Count one action; return None if allowed, else the seconds until the window resets."""
    now = int(time.time())
    try:
        for count, seconds in parse_limits(spec):
            window = now // seconds
            cache_key = f"rl:{action}:{key}:{seconds}:{window}"
            cache.add(cache_key, 0, timeout=seconds + 5)
            if cache.incr(cache_key) > count:
                return seconds - now % seconds
    except Exception:
        log.warning("rate limit cache unavailable; allowing %s for %s", action, key, exc_info=True)
    return None


def client_ip(request: HttpRequest) -> str:
    """The address allauth's limits use too (honours ALLAUTH_TRUSTED_PROXY_COUNT behind a proxy)."""
    from allauth.account.adapter import get_adapter

    try:
        ip: str = get_adapter(request).get_client_ip(request)
        return ip
    except PermissionDenied:
        return "unknown"


def client_network(request: HttpRequest) -> str:
    """The client address as rate limits count it: an IPv6 address stands for its /64, as in allauth's limits.

    One home or server usually gets a whole /64, so counting single IPv6
    addresses would give one machine 2**64 fresh counters.
    """
    from allauth import app_settings as allauth_settings

    ip = client_ip(request)
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/{allauth_settings.RATE_LIMIT_IPV6_PREFIX}", strict=False))
    return ip


@dataclass(frozen=True)
class Refusal:
    """An action over its limit: how long to wait, said in words and in ``Retry-After``."""

    wait: int

    @property
    def minutes(self) -> int:
        return max(1, round(self.wait / 60))

    @property
    def message(self) -> str:
        unit = "minute" if self.minutes == 1 else "minutes"
        return f"You're doing that faster than this site allows. Please wait about {self.minutes} {unit} and try again."

    def stamp(self, response: HttpResponse) -> HttpResponse:
        response.status_code = 429
        response["Retry-After"] = str(self.wait)
        return response


# An address without a limit of its own gets this many times the person's.
ADDRESS_FACTOR = 5


def scaled(spec: str, factor: int) -> str:
    """ "6/60,60/3600" × 5 → "30/60,300/3600"."""
    return ",".join(f"{count * factor}/{seconds}" for count, seconds in parse_limits(spec))


def check(request: HttpRequest, action: str, *, person_spec: str | None = None) -> Refusal | None:
    """Count one ``action`` for the signed-in person and for their IP address; a Refusal if either is over.

    Both counters always advance, so neither key can be used to probe the other.
    ``person_spec`` overrides the person's limit (e.g. stricter for new accounts).
    """
    person, address = settings.RATE_LIMITS[action]
    person = person_spec or person
    waits = [consume(action, f"ip:{client_network(request)}", address or scaled(person, ADDRESS_FACTOR))]
    if request.user.is_authenticated:
        waits.append(consume(action, f"user:{request.user.pk}", person))
    over = [wait for wait in waits if wait is not None]
    return Refusal(max(over)) if over else None


# Not handed back on the 429 page: the anti-forgery token and the double-submit key.
_NOT_KEPT = {"csrfmiddlewaretoken", "submission_key"}


def _label(name: str) -> str:
    """A field name as words: "reply-body" → "Body", "password1" → "Password", "password2" → "Password (again)"."""
    words = name.split("-")[-1].replace("_", " ")
    if words.endswith("2"):
        words = words[:-1] + " (again)"
    return words.rstrip("1").capitalize()


def typed_fields(request: HttpRequest) -> list[dict[str, Any]]:
    """What the person sent, so the 429 page can hand it back (passwords come back empty)."""
    data = request.POST if request.method == "POST" else request.GET
    honeypot = getattr(settings, "ACCOUNT_SIGNUP_FORM_HONEYPOT_FIELD", None)
    fields = []
    for name in data:
        if name in _NOT_KEPT or name == honeypot:
            continue
        secret = "password" in name
        label = _label(name)
        value = "" if secret else data.get(name, "")
        fields.append(
            {"name": name, "label": label, "value": value, "secret": secret, "long": "\n" in value or len(value) > 60}
        )
    return fields


def refuse(request: HttpRequest, refusal: Refusal, message: str | None = None) -> HttpResponse:
    """The 429 answer for views without a form to re-render: htmx gets the sentence, pages get 429.html."""
    message = message or refusal.message
    if request.headers.get("HX-Request"):
        return refusal.stamp(HttpResponse(message, content_type="text/plain; charset=utf-8"))
    context = {"message": message, "typed": typed_fields(request), "retry_minutes": refusal.minutes}
    return refusal.stamp(render(request, "429.html", context))


# A view as the decorator sees it: the request first, then whatever the URL captured.
View = Callable[..., HttpResponseBase]


def limited(action: str) -> Callable[[View], View]:
    """Decorator for views without a form to re-render (buttons such as "helpful"): 429 once over the limit.

    Only POSTs count, so showing a page is never refused.
    """

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.method == "POST" and (refusal := check(request, action)):
                return refuse(request, refusal)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def too_many_requests(request: HttpRequest) -> HttpResponse:
    """allauth's 429 (sign-up, login, password reset): the page hands back what was typed.

    allauth looks this up as ``copsite.urls.handler429``. Its windows are per
    minute, hence the one-minute ``Retry-After``.
    """
    return refuse(request, Refusal(60), "Too many attempts in a short time.")
