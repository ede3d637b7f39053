from django.apps import AppConfig


class ValueConfig(AppConfig):
    name = "value"

    def ready(self) -> None:
        from accounts import contributions as profile
        from communities import exposure as community_exposure
        from communities import panels
        from core import demo as demo_data
        from discussions import post_extras
        from resources import extras as resource_extras
        from value import contributions, demo, exposure, views

        # The notes of a page of posts come in one query for the page (value.queries.notes_for_posts).
        post_extras.register(views.mark_posts, "value/_post_notes.html")
        resource_extras.register(views.resource_notes)
        panels.register("dashboard", views.report_panel)
        profile.register(contributions.value_contributions)
        community_exposure.register(exposure.value_exposure)
        demo_data.register(self.label, lambda made: demo.seed_notes(made["people"]))
