"""python manage.py restore_community <zip>: recreate an exported community in this install."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count

import portability.community


class Command(BaseCommand):
    help = (
        "Restore a community from a zip made by its facilitators' export (or export_community). "
        "Authors are matched by username; unknown ones become inactive placeholder accounts. "
        "Refuses if a community with the same address exists."
    )

    def add_arguments(self, parser):
        parser.add_argument("zip", type=Path, help="the export zip (community.json + files/)")

    def handle(self, *args, zip: Path, **options):
        if not zip.is_file():
            raise CommandError(f"{zip} is not a file.")
        try:
            community = portability.community.restore(zip)
        except portability.community.RestoreError as error:
            raise CommandError(str(error)) from None
        counts = community.threads.aggregate(threads=Count("pk", distinct=True), posts=Count("posts", distinct=True))
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored “{community.name}” at /c/{community.slug}/: {counts['threads']} threads, "
                f"{counts['posts']} posts, {community.resources.count()} resources, {community.events.count()} events."
            )
        )
