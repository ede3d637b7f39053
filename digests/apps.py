from django.apps import AppConfig


class DigestsConfig(AppConfig):
    name = "digests"

    def ready(self) -> None:
        from communities import panels
        from digests import views

        panels.register("dashboard", views.dashboard_panel)
