from django.apps import AppConfig


class DiscussionsConfig(AppConfig):
    name = "discussions"

    def ready(self) -> None:
        from accounts import contributions as profile
        from communities import expertise, panels
        from communities import exposure as community_exposure
        from communities import welcome as community_welcome
        from core import demo as demo_data
        from core import rerender as rerendering
        from discussions import contributions, demo, exposure, rerender, tagnames, vocabulary, welcome
        from discussions.views import posts, subgroups, threads

        panels.register("community", threads.thread_list_panel)
        panels.register("community", subgroups.subgroups_panel)
        panels.register("dashboard", posts.held_queue_panel)
        panels.register("dashboard", posts.flag_queue_panel)
        panels.register("welcome", welcome.introductions_panel)
        community_welcome.register_thread_choices(welcome.introduction_choices)
        profile.register(contributions.discussion_contributions)
        community_exposure.register(exposure.discussion_exposure)
        community_exposure.register_thread(exposure.thread_exposure)
        tagnames.connect()
        from communities import policy
        from discussions import queries

        policy.register_guest_places(queries.active_guest_thread_ids, queries.active_thread_guest_ids)
        expertise.register(vocabulary.thread_tags)
        rerendering.register(self.label, "post(s)", rerender.rerender_posts)
        demo_data.register(self.label, lambda made: demo.seed_threads(made["people"]))
