from django.apps import AppConfig


class DiscussionsConfig(AppConfig):
    name = "discussions"

    def ready(self) -> None:
        from accounts import contributions as profile
        from communities import expertise, panels
        from communities import exposure as community_exposure
        from core import demo as demo_data
        from core import rerender as rerendering
        from discussions import contributions, demo, exposure, rerender, tagnames, vocabulary
        from discussions.views import posts, threads

        panels.register("community", threads.thread_list_panel)
        panels.register("dashboard", posts.held_queue_panel)
        panels.register("dashboard", posts.flag_queue_panel)
        profile.register(contributions.discussion_contributions)
        community_exposure.register(exposure.discussion_exposure)
        community_exposure.register_thread(exposure.thread_exposure)
        tagnames.connect()
        expertise.register(vocabulary.thread_tags)
        rerendering.register(self.label, "post(s)", rerender.rerender_posts)
        demo_data.register(self.label, lambda made: demo.seed_threads(made["people"]))
