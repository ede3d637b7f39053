from django.apps import AppConfig


class DiscussionsConfig(AppConfig):
    name = "discussions"

    def ready(self) -> None:
        # Registers the thread list and flag queue panels on communities' pages,
        # the profile contributions provider and what a public community would expose.
        from core import demo as demo_data
        from core import rerender as rerendering
        from discussions import contributions, demo, exposure, rerender, tagnames  # noqa: F401
        from discussions.views import posts, threads  # noqa: F401

        tagnames.connect()
        rerendering.register(self.label, "post(s)", rerender.rerender_posts)
        demo_data.register(self.label, lambda made: demo.seed_threads(made["people"]))
