from django.apps import AppConfig


class ResourcesConfig(AppConfig):
    name = "resources"

    def ready(self) -> None:
        # Registers the pinned-resources panel and the profile contributions provider.
        from resources import contributions, views  # noqa: F401
