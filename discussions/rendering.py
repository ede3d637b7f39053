"""Posts drawn as HTML, for every page that shows them.

A thread page, a chat's answers, a reply just posted: each is a list of
``<li>`` drawn by one Jinja2 template, ``jinja2/discussions/posts.jinja``
(core/jinja.py says why that part is Jinja2). Django templates reach it
through ``{% post_items posts %}`` (discussions/templatetags/posts.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property

from django.http import HttpRequest
from django.template.backends.utils import csrf_input
from django.utils.safestring import SafeString

from core import jinja
from discussions.models import Post


class _CsrfInput:
    """The hidden CSRF field, made on first use and then reused on the page.

    A page of posts has a form per post for a member and none for a visitor:
    the visitor's page never asks for a token (so it sets no cookie), and the
    member's asks once, not once per form.
    """

    def __init__(self, request: HttpRequest):
        self.request = request

    @cached_property
    def html(self) -> SafeString:
        return csrf_input(self.request)

    def __html__(self) -> str:
        return self.html

    def __str__(self) -> str:
        return self.html


def post_items(
    request: HttpRequest,
    posts: Iterable[Post],
    *,
    can_reply: bool = False,
    can_accept: bool = False,
    can_moderate: bool = False,
    just_posted: bool = False,
) -> SafeString:
    """The ``<li>`` of each post, decorated beforehand by ``views.threads.decorate_posts``."""
    flags = {"can_reply": can_reply, "can_accept": can_accept, "can_moderate": can_moderate, "just_posted": just_posted}
    return render_jinja(request, "discussions/posts.jinja", {"posts": posts, **flags})


def render_jinja(request: HttpRequest, name: str, context: dict) -> SafeString:
    """A Jinja2 template's HTML for a Django template to insert, with ``viewer_pk`` and ``csrf_input`` added."""
    return jinja.render(name, **context, viewer_pk=request.user.pk, csrf_input=_CsrfInput(request))
