from django.apps import AppConfig


class DiscoveryConfig(AppConfig):
    """Finding things: the front page (a member's home, My calendar), site search, Atom feeds, sitemaps, robots.txt."""

    name = "discovery"

    def ready(self) -> None:
        from communities import demo as community_demo
        from communities import panels
        from core import demo as demo_data
        from discovery import feeds, starting

        panels.register("community_head", feeds.feed_links)
        panels.register("community", starting.community_panel)
        # Last of the seeders: newcomers' expertise needs the tags of the threads and resources seeded before.
        demo_data.register(self.label, lambda made: community_demo.seed_newcomers(made["people"]))
