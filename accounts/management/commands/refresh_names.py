"""Recompute every person's look-alike keys and "shared name" flag (accounts/names.py)."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts import names
from accounts.models import User
from core import pagecache


class Command(BaseCommand):
    help = (
        "Recompute look-alike username keys and which display names are shared: "
        "after upgrading disarm or importing people in bulk."
    )

    def handle(self, *args, **options) -> None:
        with transaction.atomic():
            changed = names.refresh_all(User)
            if changed:
                pagecache.touched_everything()
        self.stdout.write(f"Updated {changed} name key(s) or flag(s).")
