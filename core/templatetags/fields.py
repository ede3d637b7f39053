"""``{% form_field field %}`` and ``{% form_errors form %}``: form markup from one place.

The markup lives in ``jinja2/includes/forms.jinja``, so a form drawn by a
Django template (``includes/field.html`` calls these) and one drawn by a
Jinja2 template (the reply form) read the same.
"""

from django import template

from core.jinja import render

register = template.Library()


@register.simple_tag
def form_field(field):
    return render("includes/field.jinja", field=field) if field else ""


@register.simple_tag
def form_errors(form):
    return render("includes/form_errors.jinja", form=form) if form else ""
