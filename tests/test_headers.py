"""Security headers on every kind of page, under the production settings that pass ``check --deploy``."""

from __future__ import annotations

import json

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from core.pagecache import AnonymousPageCacheMiddleware
from tests import factories
from tests.deploy import PROD, manage
from tests.faults import free_port

pytestmark = pytest.mark.django_db

SECURITY_SETTINGS = [
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_SSL_REDIRECT",
    "SECURE_REDIRECT_EXEMPT",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_REFERRER_POLICY",
    "SECURE_CROSS_ORIGIN_OPENER_POLICY",
    "X_FRAME_OPTIONS",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
]


@pytest.fixture(scope="module")
def production_security(tmp_path_factory) -> dict:
    """The security settings copsite.settings computes with DEBUG=0 (the same run ``check --deploy`` passes)."""
    code = (
        "import json; from django.conf import settings as s;"
        f"print(json.dumps({{name: getattr(s, name) for name in {SECURITY_SETTINGS!r}}}))"
    )
    result = manage("shell", "-v", "0", "-c", code, env=PROD, tmp_path=tmp_path_factory.mktemp("prod"))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def production(settings, production_security):
    for name, value in production_security.items():
        setattr(settings, name, value)
    # The page cache is part of the production path: cached pages must carry the same headers.
    settings.PAGE_CACHE_SECONDS = 300
    return settings


def assert_secure_headers(response, what: str) -> None:
    csp = response.get("Content-Security-Policy", "")
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    assert "default-src" in directives, (what, csp)
    scripts = directives.get("script-src", directives["default-src"])
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts and "*" not in scripts, (what, csp)
    if directives["default-src"] == ["'none'"] and "sandbox" in directives:
        # Files are served under a lockdown policy: nothing loads, nothing runs.
        assert response["Content-Disposition"].startswith("attachment"), what
    else:
        assert "'self'" in scripts, (what, csp)
        assert directives["object-src"] == ["'none'"], what
        assert directives["base-uri"] == ["'none'"], what
        assert directives["frame-ancestors"] == ["'none'"], what
    assert response["X-Content-Type-Options"] == "nosniff", what
    assert response["Referrer-Policy"] == "same-origin", what
    assert "camera=()" in response["Permissions-Policy"] and "geolocation=()" in response["Permissions-Policy"], what
    assert response["X-Frame-Options"] == "DENY", what
    assert response["Cross-Origin-Opener-Policy"] == "same-origin", what
    # A year, for this host only: subdomains and the preload list are the domain owner's opt-in.
    assert response["Strict-Transport-Security"] == "max-age=31536000", what


@pytest.fixture
def site(world, conversation, client, settings):
    """One URL of every kind, with the client each needs."""
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "search": ("1/3600", "100/3600")}
    resource = factories.resource(
        world.member,
        world.public,
        kind="file",
        title="Ward plan",
        description="Our template",
        file=("plan.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"),
    )
    thread = conversation.thread
    return {
        "anonymous": [
            ("home", "/", 200),
            ("directory", "/c/", 200),
            ("community", "/c/commons/", 200),
            ("thread", thread.get_absolute_url(), 200),
            ("post permalink", f"/p/{conversation.answer.pk}/", 302),
            ("resource", resource.get_absolute_url(), 200),
            ("library", "/c/commons/library/", 200),
            ("search", "/search/?q=delirium", 200),
            ("feed", "/c/commons/feeds/threads/", 200),
            ("calendar", "/c/commons/events/", 200),
            ("calendar .ics", "/c/commons/events/feed.ics", 200),
            ("profile", f"/u/{world.member.username}/", 200),
            ("login", "/accounts/login/", 200),
            ("sign-up", "/accounts/signup/", 200),
            ("password reset", "/accounts/password/reset/", 200),
            ("404", "/no/such/page/", 404),
            ("404 private", "/c/circle/", 404),
            ("healthz", "/healthz", 200),
            ("sitemap", "/sitemap.xml", 200),
        ],
        "member": [
            ("reply form", thread.get_absolute_url() + "reply/", 200),
            ("new thread form", "/c/commons/threads/new/", 200),
            ("file download", f"/c/commons/library/{resource.pk}/file/", 200),
            ("notifications", "/notifications/", 200),
            ("search", "/search/?q=delirium", 200),
            ("429 search", "/search/?q=again", 429),
        ],
        "outsider": [("403", "/c/commons/threads/new/", 403)],
        "facilitator": [("dashboard", "/c/commons/facilitate/", 200)],
    }


def test_every_kind_of_page_carries_the_security_headers(client, world, site, production):
    seen = 0
    for who in ("anonymous", "member", "outsider", "facilitator"):
        client.logout()
        if who != "anonymous":
            client.force_login(getattr(world, who))
        for what, url, status in site[who]:
            response = client.get(url, secure=True)
            assert response.status_code == status, (who, what, url, response.status_code)
            assert_secure_headers(response, f"{who}: {what} {url}")
            seen += 1
    assert seen >= 25


def test_cached_anonymous_page_has_the_same_headers_as_a_fresh_one(client, world, conversation, production):
    url = conversation.thread.get_absolute_url()
    first = client.get(url, secure=True)
    second = client.get(url, secure=True)
    assert (first["X-Page-Cache"], second["X-Page-Cache"]) == ("miss", "hit")
    assert_secure_headers(second, "cached thread page")
    assert second["Content-Security-Policy"] == first["Content-Security-Policy"]


def test_plain_http_is_redirected_to_https_in_production(client, world, production):
    response = client.get("/c/commons/")
    assert response.status_code == 301 and response["Location"] == "https://testserver/c/commons/"


def test_healthz_is_not_redirected_so_load_balancers_can_probe_it(client, production):
    assert client.get("/healthz").status_code == 200


def test_page_with_a_csp_nonce_is_never_stored_in_the_page_cache(settings):
    """A stored page would replay an old nonce against a new header, and its inline script would not run."""
    settings.PAGE_CACHE_SECONDS = 300
    factory = RequestFactory()

    def page_with_nonce(request):
        return HttpResponse(f'<script nonce="{request.csp_nonce}">go()</script>', content_type="text/html")

    def plain_page(request):
        return HttpResponse("<p>hello</p>", content_type="text/html")

    for view, expected in ((page_with_nonce, None), (plain_page, "miss")):
        from csp.middleware import CSPMiddleware

        # A community page's address: one the cache may store (core.pagecache.CACHEABLE_PAGES).
        path = f"/c/{view.__name__.replace('_', '-')}/"
        csp = CSPMiddleware(lambda r, view=view: AnonymousPageCacheMiddleware(view)(r))
        first = csp(factory.get(path))
        assert first.get("X-Page-Cache") == expected, view.__name__
        again = csp(factory.get(path))
        if expected is None:
            # Rendered afresh: the script's nonce is the one in this response's header.
            nonce = again.content.decode().split('nonce="')[1].split('"')[0]
            assert f"'nonce-{nonce}'" in again["Content-Security-Policy"]
            assert again.get("X-Page-Cache") is None
        else:
            assert again["X-Page-Cache"] == "hit"


def test_service_unavailable_answer_carries_the_security_headers(client, production):
    """The 503 a load balancer sees when the broker is down (a real unreachable port, not a mock)."""
    from celery import current_app as app

    original = app.conf.broker_url
    app.conf.broker_url = f"redis://127.0.0.1:{free_port()}/0"
    try:
        response = client.get("/healthz", secure=True)
    finally:
        app.conf.broker_url = original
    assert response.status_code == 503
    assert_secure_headers(response, "healthz 503")
