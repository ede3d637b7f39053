from django.apps import AppConfig


class InsightsConfig(AppConfig):
    """The community health page, the site overview and the declared rhythm (missed beats)."""

    name = "insights"

    def ready(self) -> None:
        from communities import panels, signals
        from insights import receivers, views

        panels.register("dashboard", views.dashboard_panel)
        signals.levels_changed.connect(receivers.record_level_changes, dispatch_uid="insights-level-changes")
