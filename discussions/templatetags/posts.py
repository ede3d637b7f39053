"""``{% post_items posts %}`` and ``{% post_item post %}``: posts inside a Django template.

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
