"""The Sites row allauth reads, named as the site is configured.

allauth asks Django's Sites framework for the site's name and domain
(``get_current_site``): the "log in to …" line of its social sign-up page,
the cache key of failed logins, the subject prefix and greeting of any mail
that did not come through our adapter. The row Django creates says
"example.com"; after every ``migrate`` it says ``COPSITE_NAME`` on
``SITE_URL``'s host instead, so changing either and migrating (``make run``
and the container's start both do) keeps it right. Our own mails never read
it (accounts.adapter.mail_site).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.apps import apps as global_apps
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS


def name_the_site(*, using: str = DEFAULT_DB_ALIAS, apps: Any = global_apps, **kwargs: Any) -> None:
    """post_migrate: the row of ``SITE_ID`` names this site (Django's sites app made it just before)."""
    try:
        site_model = apps.get_model("sites", "Site")
    except LookupError:  # a migration state without the sites app
        return
    domain = urlsplit(settings.SITE_URL).netloc
    site_model.objects.using(using).update_or_create(
        pk=settings.SITE_ID, defaults={"domain": domain, "name": settings.COPSITE_NAME}
    )
    from django.contrib.sites.models import SITE_CACHE

    SITE_CACHE.clear()
