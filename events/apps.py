from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"

    def ready(self) -> None:
        from communities import exposure as community_exposure
        from communities import panels
        from core import demo as demo_data
        from core import rerender as rerendering
        from discussions.views import threads
        from events import demo, exposure, rerender, views

        panels.register("community", views.upcoming_panel)
        community_exposure.register(exposure.event_exposure)
        threads.register_kind_page("chat", views.chat_page)
        rerendering.register(self.label, "event description(s)", rerender.rerender_descriptions)
        demo_data.register(self.label, lambda made: demo.seed_events(made["people"]))
