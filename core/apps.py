from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every app shares: db helpers, markup, the mail outbox, rate limits, the page cache, env reading.

    Its models (the outbox, heartbeats, drafts) keep the app label "copsite" they were
    created under, so existing tables and migration history carry over as they
    are; the label is a name in the database, not an import path.
    """

    name = "core"
    label = "copsite"
    verbose_name = "copsite"

    def ready(self) -> None:
        from django.contrib.admin.models import LogEntry
        from django.db.models.signals import post_save

        from core import pagecache

        # Edits made in the Django admin bypass the services that say what they
        # change; the admin logs every change it makes, so any may show anywhere.
        post_save.connect(
            lambda **kwargs: pagecache.touched_everything(), sender=LogEntry, dispatch_uid="pagecache-admin", weak=False
        )
