"""copsite's template engine: Jinja2, for every template of ours.

Pages, partials, email subjects and bodies, the error pages and robots.txt
are Jinja2 templates under ``templates/``, drawn by the ``jinja2`` engine
(the first in ``settings.TEMPLATES``, so ``render()`` and ``render_to_string()``
find them). Jinja2 compiles a template to Python once, where Django's engine
walks a node tree on every render; on a thread page that walk was most of the
page's time. One engine also means a page is one template tree: a post, the
reply form or a form field is an ``{% include %}`` or a macro, never a string
handed from one engine to another.

Only the admin and allauth keep Django templates (their own). allauth's pages
wear the site's layout through one bridge, ``templates/django/allauth/layouts/base.html``
(``core/templatetags/site_layout.py``); allauth's form elements, which it
renders by name through Django's loader, are Jinja2 templates of ours under
``templates/allauth/elements/``.

The environment reads like Django's engine, so a template means what it did:
- the filters are Django's own functions (``date`` in the current time zone,
  ``naturaltime``, ``pluralize``…), and ``url()`` / ``static()`` / ``submission_key()`` are globals;
- autoescaping is on for every template except ``*.txt`` (plain-text email
  parts and subjects, robots.txt); Jinja2 spells an escaped quote ``&#39;``
  or ``&#34;`` where Django wrote ``&#x27;`` or ``&quot;`` (the same to a browser);
- a missing variable or attribute is empty, at any depth, as in Django;
- blocks keep their whitespace and a file its last newline, so a text email
  reads exactly as its file.
"""

from __future__ import annotations

import uuid
from datetime import date as date_type
from typing import Any

from django.contrib.humanize.templatetags.humanize import intcomma, naturaltime
from django.template import defaultfilters
from django.templatetags.static import static
from django.templatetags.tz import do_timezone
from django.urls import reverse
from django.utils.html import json_script
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]  # not in django-stubs
from jinja2 import (
    BaseLoader,
    ChainableUndefined,
    ChoiceLoader,
    DictLoader,
    Environment,
    pass_eval_context,
    select_autoescape,
)
from jinja2.nodes import EvalContext


def url(name: str, *args: Any, **kwargs: Any) -> str:
    """``{% url %}``: ``url("discussions:thread", slug, pk)``."""
    return reverse(name, args=args or None, kwargs=kwargs or None)


def date(value: Any, arg: str | None = None) -> str:
    """Django's ``date`` filter, in the current time zone as Django's engine applies it.

    ``date("c")`` (a ``<time datetime>`` on every post) skips Django's format
    parser: its answer is ``isoformat()``, at a third of the cost.
    """
    if not value:  # None, "" or a missing variable, as Django's filter answers it
        return ""
    value = template_localtime(value)  # leaves a value from |timezone(...) in its own zone
    if arg == "c" and isinstance(value, date_type):
        return value.isoformat()
    return defaultfilters.date(value, arg)


def zone_abbr(value: Any) -> str:
    """The abbreviation of a time's zone as people read it: "CET", "EDT", or "UTC+05:30" where the zone has no letters.

    In the current time zone, or the zone a ``|timezone(...)`` before it chose:
    ``{{ event.starts_at|timezone(zone)|date("D j M, H:i") }} {{ event.starts_at|timezone(zone)|zone_abbr }}``.
    """
    if not value or not hasattr(value, "tzname"):
        return ""
    name = template_localtime(value).tzname() or ""
    if name[:1] in ("+", "-") and name[1:].isdigit():
        hours, minutes = name[1:3], name[3:5]
        return f"UTC{name[0]}{hours}" + (f":{minutes}" if minutes and minutes != "00" else "")
    return name


@pass_eval_context
def linebreaksbr(eval_ctx: EvalContext, value: Any) -> SafeString:
    """Django's ``linebreaksbr``: escapes the text first when the template escapes."""
    if hasattr(value, "__html__"):
        value = mark_safe(value.__html__())  # noqa: S308 - already safe markup (Jinja2's Markup)
    return defaultfilters.linebreaksbr(value, autoescape=eval_ctx.autoescape)


FILTERS = {
    "date": date,
    "timezone": do_timezone,
    "zone_abbr": zone_abbr,
    "naturaltime": naturaltime,
    "intcomma": intcomma,
    "pluralize": defaultfilters.pluralize,
    "linebreaksbr": linebreaksbr,
    "truncatechars": defaultfilters.truncatechars,
    "truncatewords_html": defaultfilters.truncatewords_html,
    "urlencode": defaultfilters.urlencode,
    "capfirst": defaultfilters.capfirst,
    "stringformat": defaultfilters.stringformat,
    "filesizeformat": defaultfilters.filesizeformat,  # Django's units (KB = 1,024 bytes), not Jinja2's
    "json_script": json_script,
}


def _loader(loader: BaseLoader, loaders: list[Any] | None) -> BaseLoader:
    """The files of ``DIRS``, or the ``loaders`` OPTIONS name in Django's own spelling.

    Only two of Django's loaders mean something here: ``locmem.Loader`` (templates given
    in place) and ``filesystem.Loader`` (``DIRS``). That is how a test puts one page of
    its own in front of the files, as tests/test_canary_crawl.py does with a leaky 404.
    """
    if not loaders:
        return loader
    chain: list[BaseLoader] = []
    for spec in loaders:
        name, args = (spec[0], spec[1:]) if isinstance(spec, (list, tuple)) else (spec, ())
        if name.endswith("locmem.Loader"):
            chain.append(DictLoader(args[0]))
        elif name.endswith("filesystem.Loader"):
            chain.append(loader)
    return ChoiceLoader(chain)


def submission_key() -> str:
    """A fresh key for a form drawn without a Django form (a chat's answer box): a repeated send of it posts once.

    ``discussions.forms.submission_key_field`` gives the same to the forms that have one.
    """
    return uuid.uuid4().hex


def environment(*, loader: BaseLoader, loaders: list[Any] | None = None, **options: Any) -> Environment:
    # Django's backend passes autoescape=True and, with DEBUG, an Undefined that prints
    # "{{ name }}" into the page; both are decided here (see the module docstring).
    for decided in ("autoescape", "undefined", "trim_blocks", "lstrip_blocks", "keep_trailing_newline"):
        options.pop(decided, None)
    env = Environment(
        loader=_loader(loader, loaders),
        # Everything is escaped but plain text: email subjects and text parts, robots.txt.
        autoescape=select_autoescape(disabled_extensions=("txt",), default_for_string=True, default=True),
        undefined=ChainableUndefined,
        keep_trailing_newline=True,
        **options,
    )
    env.globals.update(url=url, static=static, submission_key=submission_key)
    env.filters.update(FILTERS)
    return env
