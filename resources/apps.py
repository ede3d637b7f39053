from django.apps import AppConfig


class ResourcesConfig(AppConfig):
    name = "resources"

    def ready(self) -> None:
        # Registers the pinned-resources panel, the profile contributions provider
        # and what a public community would expose.
        from core import demo as demo_data
        from resources import contributions, demo, exposure, views  # noqa: F401

        demo_data.register(self.label, lambda made: demo.seed_resources(made["people"]))
