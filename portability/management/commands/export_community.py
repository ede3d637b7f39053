"""python manage.py export_community <slug> [-o file.zip]: the facilitators' export, from the shell."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

import portability.community
from communities.models import Community


class Command(BaseCommand):
    help = "Write a community (threads, replies, resources with files, events) to a zip for restore_community."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("-o", "--output", type=Path, help="where to write the zip (default: <slug>.zip)")

    def handle(self, *args, slug: str, output: Path | None, **options):
        community = Community.objects.filter(slug=slug).first()
        if community is None:
            raise CommandError(f"No community with the address “{slug}”.")
        output = output or Path(f"{slug}.zip")
        with output.open("wb") as out:
            document = portability.community.write_zip(community, out)
        self.stdout.write(
            self.style.SUCCESS(f"Wrote {output} (content hash {portability.community.content_hash(document)[:16]}…).")
        )
