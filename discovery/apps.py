from django.apps import AppConfig


class DiscoveryConfig(AppConfig):
    """Finding things: the front page (a member's home, My calendar), site search, Atom feeds, sitemaps, robots.txt."""

    name = "discovery"

    def ready(self) -> None:
        from communities import panels
        from core import demo as demo_data
        from discovery import demo, feeds, starting

        panels.register("community_head", feeds.feed_links)
        panels.register("community", starting.community_panel)
        # Last of the seeders: newcomers' expertise needs the tags of the threads and resources seeded
        # before, the welcome its introductions thread.
        demo_data.register(self.label, lambda made: demo.seed_last(made["people"]))
