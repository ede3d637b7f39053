from django.urls import path

from discussions.views import compose, guests, posts, subgroups, threads, watching

app_name = "discussions"

urlpatterns = [
    path("c/<slug:slug>/threads/new/", threads.start_thread, name="new-thread"),
    path("c/<slug:slug>/preview/", compose.preview, name="preview"),
    path("c/<slug:slug>/mentions/", compose.mentions, name="mentions"),
    path("c/<slug:slug>/t/<int:pk>/", threads.thread_detail, name="thread"),
    path("c/<slug:slug>/t/<int:pk>/reply/", threads.reply, name="reply"),
    path("c/<slug:slug>/t/<int:pk>/unread/", threads.first_unread, name="first-unread"),
    path("c/<slug:slug>/t/<int:pk>/watch/", watching.watch, name="watch"),
    path("c/<slug:slug>/t/<int:pk>/moderate/", posts.moderate_thread, name="moderate-thread"),
    path("c/<slug:slug>/t/<int:pk>/guests/", guests.thread_guests, name="guests"),
    path("c/<slug:slug>/t/<int:pk>/guests/<int:place_id>/revoke/", guests.revoke, name="guest-revoke"),
    path("c/<slug:slug>/t/<int:pk>/guests/<int:place_id>/extend/", guests.extend, name="guest-extend"),
    path("guest/<str:token>/", guests.guest_link, name="guest"),
    path("c/<slug:slug>/subgroups/", subgroups.subgroup_list, name="subgroups"),
    path("c/<slug:slug>/subgroups/<slug:subgroup>/", subgroups.subgroup_detail, name="subgroup"),
    path("c/<slug:slug>/subgroups/<slug:subgroup>/edit/", subgroups.subgroup_edit, name="subgroup-edit"),
    path("c/<slug:slug>/subgroups/<slug:subgroup>/delete/", subgroups.subgroup_delete, name="subgroup-delete"),
    path("c/<slug:slug>/subgroups/<slug:subgroup>/add/", subgroups.subgroup_add, name="subgroup-add"),
    path(
        "c/<slug:slug>/subgroups/<slug:subgroup>/remove/<int:user_id>/",
        subgroups.subgroup_remove,
        name="subgroup-remove",
    ),
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
]
