from django.urls import path

from events import views

app_name = "events"

urlpatterns = [
    path("c/<slug:slug>/events/", views.calendar_page, name="calendar"),
    path("c/<slug:slug>/events/new/", views.create_event, name="new-event"),
    path("c/<slug:slug>/events/feed.ics", views.community_feed, name="community-feed"),
    path("c/<slug:slug>/events/<int:pk>/", views.event_detail, name="event"),
    path("c/<slug:slug>/events/<int:pk>/edit/", views.edit_event, name="edit-event"),
    path("c/<slug:slug>/events/<int:pk>/cancel/", views.cancel_event, name="cancel-event"),
    path("c/<slug:slug>/events/<int:pk>/rsvp/", views.rsvp, name="rsvp"),
    path("c/<slug:slug>/events/<int:pk>/event.ics", views.event_ics, name="event-ics"),
    path("c/<slug:slug>/t/<int:pk>/live/", views.live, name="live"),
    path("calendar/<str:token>.ics", views.personal_feed, name="personal-feed"),
    path("settings/calendar/", views.calendar_settings, name="calendar-settings"),
]
