from django.apps import AppConfig


class DiscoveryConfig(AppConfig):
    """Finding things: the front page (a member's home, My calendar), site search, Atom feeds, sitemaps, robots.txt."""

    name = "discovery"

    def ready(self) -> None:
        from communities import panels
        from discovery import feeds, starting

        panels.register("community_head", feeds.feed_links)
        panels.register("community", starting.community_panel)
