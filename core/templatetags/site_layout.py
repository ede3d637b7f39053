"""``{% site_layout %}``: the one place where a Django template meets copsite's Jinja2 templates.

allauth draws its pages with Django templates that ``{% extends "allauth/layouts/base.html" %}``;
``templates/django/allauth/layouts/base.html`` captures each page's blocks and hands them to this
tag, which draws them inside ``templates/base.html`` (header, navigation, messages, footer), by way
of ``templates/django_page.html``. The admin keeps its own look; nothing else of ours is a Django
template, so no other hand-off between the engines exists (tests/test_one_engine.py).
"""

from __future__ import annotations

from django import template
from django.template import engines
from django.template.context import RequestContext
from django.utils.safestring import SafeString, mark_safe

from core.wording import house_words_html

register = template.Library()


@register.simple_tag(takes_context=True)
def site_layout(context: RequestContext, *, title: str, head: str, main: str, end: str) -> SafeString:
    """The whole page: ``base.html`` with allauth's title, extra head, content and extra body.

    The parts are Django's output, already escaped; the page is Jinja2's, escaped by it in turn.
    The Jinja2 render runs its own context processors (user, messages, the bell) for ``request``.
    The title's and the content's words are the site's ("Log in", not allauth's "Sign In": core/wording.py).
    """
    page = engines["jinja2"].get_template("django_page.html")
    title, main = house_words_html(title), house_words_html(main)
    parts = {"page_title": title, "page_head": head, "page_main": main, "page_end": end}
    return mark_safe(page.render(parts, request=context.request))  # noqa: S308 - Jinja2 autoescaped it
