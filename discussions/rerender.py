"""Posts re-rendered by ``manage.py rerender_markup`` (registered in DiscussionsConfig.ready())."""

from __future__ import annotations

from django.utils.html import escape, linebreaks

from core.markup import RENDER_VERSION, MarkupError
from discussions.models import Post
from discussions.services import render_post

BATCH = 500


def rerender_posts(everything: bool) -> tuple[int, int]:
    posts = Post.objects.order_by("pk")
    if not everything:
        posts = posts.filter(render_version__lt=RENDER_VERSION)
    done = kept = 0
    batch: list[Post] = []
    for post in posts.only("pk", "body").iterator(chunk_size=BATCH):
        try:
            rendered = render_post(post.body)
            post.body_html, post.body_text = rendered.html, rendered.text
        except MarkupError:
            # Content that new limits refuse stays readable as escaped text.
            post.body_html, post.body_text = linebreaks(escape(post.body)), post.body
            kept += 1
        post.render_version = RENDER_VERSION
        batch.append(post)
        if len(batch) >= BATCH:
            done += _save(batch)
    return done + _save(batch), kept


def _save(batch: list[Post]) -> int:
    if batch:
        Post.objects.bulk_update(batch, ["body_html", "body_text", "render_version"])
    count = len(batch)
    batch.clear()
    return count
