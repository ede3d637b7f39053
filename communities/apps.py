from django.apps import AppConfig


class CommunitiesConfig(AppConfig):
    name = "communities"

    def ready(self) -> None:
        from communities import demo, exposure, receivers, rerender
        from core import demo as demo_data
        from core import rerender as rerendering

        receivers.connect()
        exposure.register(exposure.own_page)
        rerendering.register(self.label, "community description(s)", rerender.rerender_descriptions)
        demo_data.register(self.label, lambda made: demo.seed_communities(made["people"]))
