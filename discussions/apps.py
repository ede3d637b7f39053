from django.apps import AppConfig


class DiscussionsConfig(AppConfig):
    name = "discussions"

    def ready(self) -> None:
        # Registers the thread list and flag queue panels on communities' pages.
        from discussions.views import posts, threads  # noqa: F401
