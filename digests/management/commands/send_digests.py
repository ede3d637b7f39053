"""Run a digest pass by hand: plan who is due now and build their digests (or just show them)."""

from __future__ import annotations

from datetime import datetime

from django.core.management.base import BaseCommand
from django.utils import timezone

from communities.models import Community
from digests import building, content, planning


class Command(BaseCommand):
    help = "Plan and build due digests now. --dry-run prints who would get what and changes nothing."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument("--now", help="Pretend it is this ISO time (e.g. 2026-11-23T07:30:00+00:00).")

    def handle(self, *args, dry_run: bool = False, now: str | None = None, **options) -> None:
        instant = datetime.fromisoformat(now) if now else timezone.now()
        if dry_run:
            self._dry_run(instant)
            return
        run_ids = planning.plan(instant)
        totals = {"queued": 0, "empty": 0, "skipped": 0}
        for chunk in planning.chunks(run_ids):
            for key, value in building.build(chunk, instant).items():
                totals[key] += value
        self.stdout.write(
            f"{len(run_ids)} digest(s) handled: {totals['queued']} queued for sending, "
            f"{totals['empty']} with nothing new, {totals['skipped']} skipped."
        )

    def _dry_run(self, instant: datetime) -> None:
        people = planning.subscribers()
        due = 0
        for person in people.values():
            period = planning.due_period(person, instant)
            if period is None or planning.dormant(person, instant):
                continue
            due += 1
            communities = Community.objects.filter(pk__in=person.cadences)
            start = instant - planning.FIRST_WINDOW["weekly"]
            pool = content.Pool.gather(list(communities), start, instant)
            reader = content.readers_for([person.user_id], {}, pool)[person.user_id]
            counts = [
                f"{c.name}: {content.section_for(reader, c, start, instant, pool).count} item(s)" for c in communities
            ]
            self.stdout.write(f"user {person.user_id} ({period[0]}): " + "; ".join(counts))
        self.stdout.write(f"{due} of {len(people)} subscriber(s) due at {instant.isoformat()} (dry run: nothing sent).")
