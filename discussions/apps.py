from django.apps import AppConfig


class DiscussionsConfig(AppConfig):
    name = "discussions"

    def ready(self) -> None:
        # Registers the thread list and flag queue panels on communities' pages,
        # and the profile contributions provider.
        from discussions import contributions, tagnames  # noqa: F401
        from discussions.views import events, posts, threads  # noqa: F401

        tagnames.connect()
