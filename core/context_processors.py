from __future__ import annotations

from functools import cache, cached_property

from django.conf import settings
from django.http import HttpRequest
from django.template.backends.utils import csrf_input
from django.templatetags.static import static
from django.urls import get_script_prefix, reverse
from django.utils.safestring import SafeString

# The links of every page's head, header and account menu (templates/base.html).
_PAGE_LINKS = {
    "home": "home",
    "directory": "communities:directory",
    "search": "discovery:search",
    "calendar": "discovery:calendar",
    "notifications": "notifications:list",
    "notifications_menu": "notifications:menu",
    "facilitator_alerts": "notifications:alerts",
    "bookmarks": "bookmarks:list",
    "email_settings": "digests:preferences",
    "edit_profile": "accounts:edit-profile",
    "your_data": "portability:your-data",
    "account_email": "account_email",
    "change_password": "account_change_password",
    "admin": "admin:index",
    "community_requests": "communities:requests",
    "site_health": "insights:site-overview",
    "logout": "account_logout",
    "login": "account_login",
    "signup": "account_signup",
}
_PAGE_ASSETS = {
    "favicon": "favicon.svg",
    "css": "css/site.css",
    "htmx": "django_htmx/htmx-2.min.js",
    "js": "js/site.js",
    "attach": "js/attach.js",
    "composer_js": "js/composer.js",
}


@cache
def _links(script_prefix: str) -> dict[str, str]:
    """Reversed once per process (and script prefix), not a dozen times on every page."""
    links = {key: reverse(name) for key, name in _PAGE_LINKS.items()}
    links.update({key: static(path) for key, path in _PAGE_ASSETS.items()})
    return links


def site(request: HttpRequest) -> dict[str, object]:
    return {
        "SITE_NAME": settings.COPSITE_NAME,
        "SITE_URL": settings.SITE_URL,
        "DEBUG": settings.DEBUG,
        "links": _links(get_script_prefix()),
    }


class CsrfInput:
    """``{{ csrf_input }}``: the hidden CSRF field, made on first use and then reused on the page.

    Django's Jinja2 backend offers a lazy field that masks a fresh token at
    every use; a member's thread page has a form per post. A visitor's page
    never asks for a token (so it sets no cookie), a member's asks once.
    """

    def __init__(self, request: HttpRequest) -> None:
        self.request = request

    @cached_property
    def html(self) -> SafeString:
        return csrf_input(self.request)

    def __html__(self) -> str:
        return self.html

    def __str__(self) -> str:
        return self.html


def csrf(request: HttpRequest) -> dict[str, CsrfInput]:
    return {"csrf_input": CsrfInput(request)}
