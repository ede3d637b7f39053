from django.apps import AppConfig


class DigestsConfig(AppConfig):
    name = "digests"

    def ready(self) -> None:
        from communities import panels
        from copsite import mail
        from digests import notify, views

        panels.register("dashboard", views.dashboard_panel)
        mail.register_send_check(notify.SEND_CHECK, notify.still_readable)
