from django.urls import path

from discussions.views import events, posts, threads

app_name = "discussions"

urlpatterns = [
    path("c/<slug:slug>/threads/new/", threads.start_thread, name="new-thread"),
    path("c/<slug:slug>/t/<int:pk>/", threads.thread_detail, name="thread"),
    path("c/<slug:slug>/t/<int:pk>/reply/", threads.reply, name="reply"),
    path("c/<slug:slug>/t/<int:pk>/unread/", threads.first_unread, name="first-unread"),
    path("c/<slug:slug>/t/<int:pk>/moderate/", posts.moderate_thread, name="moderate-thread"),
    path("p/<int:pk>/", threads.permalink, name="post"),
    path("p/<int:pk>/edit/", posts.edit, name="edit"),
    path("p/<int:pk>/history/", posts.history, name="history"),
    path("p/<int:pk>/delete/", posts.delete, name="delete"),
    path("p/<int:pk>/helpful/", posts.helpful, name="helpful"),
    path("p/<int:pk>/flag/", posts.flag, name="flag"),
    path("p/<int:pk>/accept/", posts.accept, name="accept"),
    path("p/<int:pk>/hide/", posts.hide, name="hide"),
    path("p/<int:pk>/unhide/", posts.unhide, name="unhide"),
    path("p/<int:pk>/dismiss-flags/", posts.dismiss_flags, name="dismiss-flags"),
    path("p/<int:pk>/approve/", posts.approve, name="approve"),
    path("p/<int:pk>/reject/", posts.reject, name="reject"),
    path("notifications/", posts.notifications, name="notifications"),
    path("c/<slug:slug>/events/", events.calendar_page, name="calendar"),
    path("c/<slug:slug>/events/new/", events.create_event, name="new-event"),
    path("c/<slug:slug>/events/feed.ics", events.community_feed, name="community-feed"),
    path("c/<slug:slug>/events/<int:pk>/", events.event_detail, name="event"),
    path("c/<slug:slug>/events/<int:pk>/edit/", events.edit_event, name="edit-event"),
    path("c/<slug:slug>/events/<int:pk>/cancel/", events.cancel_event, name="cancel-event"),
    path("c/<slug:slug>/events/<int:pk>/rsvp/", events.rsvp, name="rsvp"),
    path("c/<slug:slug>/events/<int:pk>/event.ics", events.event_ics, name="event-ics"),
    path("c/<slug:slug>/t/<int:pk>/live/", events.live, name="live"),
    path("calendar/<str:token>.ics", events.personal_feed, name="personal-feed"),
    path("settings/calendar/", events.calendar_settings, name="calendar-settings"),
]
