from django.apps import AppConfig


class PracticeConfig(AppConfig):
    name = "practice"

    def ready(self) -> None:
        from communities import panels
        from core import demo as demo_data
        from practice import demo, views
        from resources import extras

        extras.register(views.resource_section)
        panels.register("dashboard", views.dashboard_panel)
        demo_data.register(self.label, lambda made: demo.seed_loop(made["people"]))
