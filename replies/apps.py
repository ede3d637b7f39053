from django.apps import AppConfig


class RepliesConfig(AppConfig):
    name = "replies"

    def ready(self) -> None:
        from replies import mailhooks, receivers

        receivers.connect()
        mailhooks.connect()
