"""Create believable demo data, idempotently, and print the demo logins (seeders: ``core.demo``)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from core import demo


class Command(BaseCommand):
    help = "Create (or refresh) demo data and print the demo logins."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            lines = demo.seed_all()
        for line in lines:
            self.stdout.write(line)
