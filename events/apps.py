from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"

    def ready(self) -> None:
        # Registers the upcoming-events panel on community pages and the hosted chat's thread page.
        from core import demo as demo_data
        from core import rerender as rerendering
        from discussions.views import threads
        from events import demo, exposure, rerender, views  # noqa: F401
        from events.models import Event  # noqa: F401

        threads.register_kind_page("chat", views.chat_page)
        rerendering.register(self.label, "event description(s)", rerender.rerender_descriptions)
        demo_data.register(self.label, lambda made: demo.seed_events(made["people"]))
