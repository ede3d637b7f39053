"""The Jinja2 environment for the few templates on the hot path.

Most templates are Django templates. The parts of a page that repeat per row
(the posts of a thread page, the rows of a thread list) are Jinja2: it
compiles a template to Python once, where the Django engine walks a node tree
per row, and on a 20-post page that walk was most of the page's time.
A Jinja2 template here is named ``*.jinja`` and lives under ``jinja2/``;
Django templates never include one, they call a helper that renders it
(see ``discussions/rendering.py``).

The filters are Django's own, so a row reads the same whichever engine drew it.
"""

from __future__ import annotations

from django.contrib.humanize.templatetags.humanize import naturaltime
from django.template import engines
from django.template.defaultfilters import pluralize, urlencode
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from jinja2 import Environment


def url(name: str, *args, **kwargs) -> str:
    return reverse(name, args=args or None, kwargs=kwargs or None)


def isoformat(value) -> str:
    """``{{ when|date:'c' }}`` of the Django templates: ISO 8601 in the current time zone."""
    if value is None:
        return ""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return value.isoformat()


def environment(**options) -> Environment:
    options.setdefault("trim_blocks", True)
    options.setdefault("lstrip_blocks", True)
    # Django's backend passes autoescape=True already; it is never to be turned off.
    options.pop("autoescape", None)
    env = Environment(autoescape=True, **options)
    env.globals.update(url=url, static=static)
    env.filters.update(naturaltime=naturaltime, pluralize=pluralize, urlencode=urlencode, isoformat=isoformat)
    return env


def render(name: str, **context) -> SafeString:
    """A Jinja2 template's HTML, ready for a Django template to insert."""
    html = engines["jinja2"].get_template(name).template.render(**context)
    return mark_safe(html)  # noqa: S308 - autoescaped; stored post HTML was sanitized when written
