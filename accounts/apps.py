from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        from accounts import demo, sites
        from core import demo as demo_data

        demo_data.register(self.label, demo.seed_people)
        # After Django's sites app made its "example.com" row (it comes first in INSTALLED_APPS).
        post_migrate.connect(sites.name_the_site, sender=self, dispatch_uid="accounts.name_the_site")
