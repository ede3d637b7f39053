from django.apps import AppConfig


class ResourcesConfig(AppConfig):
    name = "resources"

    def ready(self) -> None:
        from accounts import contributions as profile
        from communities import expertise, panels
        from communities import exposure as community_exposure
        from core import demo as demo_data
        from core import rerender as rerendering
        from discussions import post_extras
        from resources import contributions, demo, exposure, rerender, thread_links, views, vocabulary

        panels.register("community", views.pinned_panel)
        panels.register("dashboard", views.due_panel)
        panels.register("welcome", views.welcome_panel)
        post_extras.register(thread_links.mark_opening_post, "resources/_thread_resources.html")
        profile.register(contributions.resource_contributions)
        expertise.register(vocabulary.resource_tags)
        community_exposure.register(exposure.resource_exposure)
        demo_data.register(self.label, lambda made: demo.seed_resources(made["people"]))
        rerendering.register(self.label, "resource(s)", rerender.rerender_resources)
