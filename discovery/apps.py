from django.apps import AppConfig


class DiscoveryConfig(AppConfig):
    """Finding things: site search, Atom feeds, sitemaps and robots.txt."""

    name = "discovery"

    def ready(self) -> None:
        from communities import panels
        from discovery import feeds

        panels.register("community_head", feeds.feed_links)
