"""Atom feeds of a public community's new threads and resources. Private communities have none."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.contrib.syndication.views import Feed
from django.http import Http404, HttpRequest
from django.utils.feedgenerator import Atom1Feed

from communities import panels, policy
from communities.models import Community
from discussions.models import Thread
from resources.models import Resource

ITEMS = 30


class _CommunityFeed(Feed):
    feed_type = Atom1Feed

    def get_object(self, request, slug: str) -> Community:
        # Feeds are read by aggregators without cookies and cached by them:
        # always decide as an anonymous visitor would, so only public content.
        community = Community.objects.filter(slug=slug).first()
        if community is None or not policy.has_public_feeds(community):
            raise Http404("No such feed.")
        return community

    def link(self, community: Community) -> str:
        return community.get_absolute_url()

    def item_pubdate(self, item):
        return item.created_at


class ThreadFeed(_CommunityFeed):
    def title(self, community: Community) -> str:
        return f"{community.name}: new conversations"

    def subtitle(self, community: Community) -> str:
        return community.domain

    def items(self, community: Community):
        threads = (
            # Feed readers carry no cookies: what an anonymous visitor may open.
            Thread.objects.visible_to(AnonymousUser())
            .filter(community=community)
            .select_related("author", "opening_post")
            .order_by("-created_at")[:ITEMS]
        )
        for thread in threads:
            thread.community = community
        return threads

    def item_title(self, item: Thread) -> str:
        return item.title

    def item_description(self, item: Thread) -> str:
        post = item.opening_post
        if post is None:
            return ""
        post.thread = item
        if not policy.can_see_post_content(AnonymousUser(), post):
            return ""
        return post.body_html

    def item_author_name(self, item: Thread) -> str:
        return item.author.name if item.author else ""


class ResourceFeed(_CommunityFeed):
    def title(self, community: Community) -> str:
        return f"{community.name}: new in the library"

    def subtitle(self, community: Community) -> str:
        return community.domain

    def items(self, community: Community):
        resources = (
            Resource.objects.visible_to(AnonymousUser())
            .filter(community=community)
            .select_related("added_by")
            .order_by("-created_at")[:ITEMS]
        )
        for resource in resources:
            resource.community = community
        return resources

    def item_title(self, item: Resource) -> str:
        return f"{item.get_kind_display()}: {item.title}"

    def item_description(self, item: Resource) -> str:
        return item.summary_html or item.description_html

    def item_author_name(self, item: Resource) -> str:
        return item.added_by.name if item.added_by else ""


def feed_links(request: HttpRequest, community: Community) -> panels.Panel | None:
    """Feed readers find a public community's Atom feeds from its page (private ones have none)."""
    if not policy.has_public_feeds(community):
        return None
    return panels.Panel("discovery/_feed_links.html")
