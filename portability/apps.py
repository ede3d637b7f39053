from django.apps import AppConfig


class PortabilityConfig(AppConfig):
    name = "portability"

    def ready(self) -> None:
        from communities import panels
        from portability import views

        panels.register("dashboard", views.export_panel)
