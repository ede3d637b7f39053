from django.apps import AppConfig


class DiscussionsConfig(AppConfig):
    name = "discussions"

    def ready(self) -> None:
        # Registers the thread list and flag queue panels on communities' pages,
        # the profile contributions provider and what a public community would expose.
        from discussions import contributions, exposure, tagnames  # noqa: F401
        from discussions.views import events, posts, threads  # noqa: F401

        tagnames.connect()
