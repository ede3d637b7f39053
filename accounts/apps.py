from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        from accounts import demo
        from core import demo as demo_data

        demo_data.register(self.label, demo.seed_people)
