"""Re-render stored markdown after the renderer or its sanitizing policy changed."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils.html import escape, linebreaks

from communities.models import Community
from copsite import pagecache
from copsite.markup import RENDER_VERSION, MarkupError, render_markdown
from discussions.models import Event, Post
from discussions.services import render_post

BATCH = 500


class Command(BaseCommand):
    help = (
        "Re-render post bodies behind the current renderer (or all with --all), "
        "community descriptions and event descriptions."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--all", action="store_true", help="Re-render every post, not only outdated ones.")

    def handle(self, *args, **options) -> None:
        posts = Post.objects.order_by("pk")
        if not options["all"]:
            posts = posts.filter(render_version__lt=RENDER_VERSION)
        done = failed = 0
        batch: list[Post] = []
        for post in posts.only("pk", "body").iterator(chunk_size=BATCH):
            try:
                rendered = render_post(post.body)
                post.body_html, post.body_text = rendered.html, rendered.text
            except MarkupError:
                # Content that new limits refuse stays readable as escaped text.
                post.body_html, post.body_text = linebreaks(escape(post.body)), post.body
                failed += 1
            post.render_version = RENDER_VERSION
            batch.append(post)
            if len(batch) >= BATCH:
                done += self._save(batch)
        done += self._save(batch)
        communities = 0
        for community in Community.objects.only("pk", "description"):
            try:
                html = render_markdown(community.description)
            except MarkupError:
                html = linebreaks(escape(community.description))
            Community.objects.filter(pk=community.pk).update(description_html=html)
            communities += 1
        events = 0
        for event in Event.objects.only("pk", "description").iterator(chunk_size=BATCH):
            try:
                html = render_markdown(event.description)
            except MarkupError:
                html = linebreaks(escape(event.description))
            Event.objects.filter(pk=event.pk).update(description_html=html)
            events += 1
        pagecache.bump_everything()  # bulk updates send no signals
        self.stdout.write(
            f"Re-rendered {done} post(s) ({failed} kept as plain text), {communities} community description(s)"
            f" and {events} event description(s)."
        )

    @staticmethod
    def _save(batch: list[Post]) -> int:
        if batch:
            Post.objects.bulk_update(batch, ["body_html", "body_text", "render_version"])
        count = len(batch)
        batch.clear()
        return count
