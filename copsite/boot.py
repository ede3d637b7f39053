"""Load settings early so a configuration mistake is one clear line, not a traceback."""

from __future__ import annotations

import os
import sys


def load_settings_or_exit(exit_code: int = 2) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "copsite.settings")
    from core.env import ConfigError

    try:
        from django.conf import settings

        settings.INSTALLED_APPS  # noqa: B018 - forces the settings module to load
    except ConfigError as exc:
        print(f"copsite: configuration error: {exc}", file=sys.stderr)
        sys.exit(exit_code)
