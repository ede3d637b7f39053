from django.urls import path

from discovery import feeds, search

app_name = "discovery"

urlpatterns = [
    path("search/", search.search_view, name="search"),
    path("c/<slug:slug>/feeds/threads/", feeds.ThreadFeed(), name="thread-feed"),
    path("c/<slug:slug>/feeds/resources/", feeds.ResourceFeed(), name="resource-feed"),
]
