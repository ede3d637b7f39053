from django.apps import AppConfig


class ResourcesConfig(AppConfig):
    name = "resources"

    def ready(self) -> None:
        # Registers the pinned-resources panel, the profile contributions provider
        # and what a public community would expose.
        from resources import contributions, exposure, views  # noqa: F401
