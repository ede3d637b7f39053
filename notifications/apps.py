from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"

    def ready(self) -> None:
        from core import mail
        from notifications import email, receivers

        receivers.connect()
        mail.register_send_check(email.SEND_CHECK, email.still_readable)
