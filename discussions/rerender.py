"""Posts re-rendered by ``manage.py rerender_markup`` (registered in DiscussionsConfig.ready())."""

from __future__ import annotations

from django.utils.html import escape, linebreaks

from core.markup import MarkupError
from core.rerender import Write, in_batches
from discussions.models import Post
from discussions.services import render_post


def _render(post: Post) -> bool:
    try:
        rendered = render_post(post.body)
    except MarkupError:
        # Content that new limits refuse stays readable as escaped text.
        post.body_html, post.body_text = linebreaks(escape(post.body)), post.body
        return False
    post.body_html, post.body_text = rendered.html, rendered.text
    return True


def rerender_posts(everything: bool, write: Write) -> tuple[int, int]:
    posts = Post.objects.only("pk", "body", "render_version")
    return in_batches(posts, _render, ["body_html", "body_text"], everything=everything, what="posts", write=write)
