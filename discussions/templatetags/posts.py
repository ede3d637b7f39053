"""``{% post_items posts %}``, ``{% post_item post %}`` and ``{% reply_form %}`` inside a Django template.

The flags come from the page's context (``can_reply``, ``can_accept``,
``can_moderate``, ``just_posted``), as they did for the include these replace.
"""

from django import template

from discussions import rendering

register = template.Library()


def _flags(context) -> dict:
    return {name: bool(context.get(name)) for name in ("can_reply", "can_accept", "can_moderate", "just_posted")}


@register.simple_tag(takes_context=True)
def post_items(context, posts):
    return rendering.post_items(context["request"], posts, **_flags(context))


@register.simple_tag(takes_context=True)
def post_item(context, post):
    return rendering.post_items(context["request"], [post], **_flags(context))


@register.simple_tag(takes_context=True)
def reply_form(context):
    """The reply form for ``thread`` (and ``parent``), with ``form`` as typed and any ``preview``."""
    names = ("thread", "parent", "form", "preview")
    return rendering.render_jinja(
        context["request"], "discussions/reply_form.jinja", {n: context.get(n) for n in names}
    )
