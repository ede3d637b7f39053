"""``{% form_field field %}`` and ``{% form_errors form %}``: form markup from one place.

The markup lives in ``jinja2/includes/forms.jinja``, so a form drawn by a
Django template (``includes/field.html`` calls these) and one drawn by a
Jinja2 template (the reply form) read the same.
"""

from django import template
from django.template import engines
from django.utils.safestring import mark_safe

register = template.Library()


def _draw(name: str, **context) -> str:
    html = engines["jinja2"].get_template(name).template.render(**context)
    return mark_safe(html)  # noqa: S308 - the template escapes what it inserts


@register.simple_tag
def form_field(field):
    return _draw("includes/field.jinja", field=field) if field else ""


@register.simple_tag
def form_errors(form):
    return _draw("includes/form_errors.jinja", form=form) if form else ""
