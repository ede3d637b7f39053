from django.urls import path

from discovery import feeds, home, search

app_name = "discovery"

urlpatterns = [
    path("search/", search.search_view, name="search"),
    path("calendar/", home.my_calendar, name="calendar"),
    path("c/<slug:slug>/feeds/threads/", feeds.ThreadFeed(), name="thread-feed"),
    path("c/<slug:slug>/feeds/resources/", feeds.ResourceFeed(), name="resource-feed"),
]
