from django.urls import path

from communities.views import directory, facilitate, members, requests, watching, welcome

app_name = "communities"

urlpatterns = [
    path("c/", directory.directory, name="directory"),
    path("c/new/", directory.create, name="create"),
    path("c/request/", requests.request_community, name="request"),
    path("c/requests/", requests.request_queue, name="requests"),
    path("c/requests/<int:pk>/<str:action>/", requests.decide, name="request-decide"),
    path("c/<slug:slug>/", directory.detail, name="detail"),
    path("c/<slug:slug>/edit/", directory.edit, name="edit"),
    path("c/<slug:slug>/join/", directory.join, name="join"),
    path("c/<slug:slug>/leave/", directory.leave, name="leave"),
    path("c/<slug:slug>/welcome/", welcome.welcome, name="welcome"),
    path("c/<slug:slug>/watch/", watching.watch, name="watch"),
    path("c/<slug:slug>/members/", members.members, name="members"),
    path("c/<slug:slug>/membership/", members.membership, name="membership"),
    path("c/<slug:slug>/facilitate/", facilitate.dashboard, name="facilitate"),
    path("c/<slug:slug>/facilitate/invite/", facilitate.invite, name="invite"),
    path("c/<slug:slug>/facilitate/audit/", facilitate.audit_log, name="audit-log"),
    path(
        "c/<slug:slug>/members/<int:membership_id>/<str:action>/",
        facilitate.member_action,
        name="member-action",
    ),
    path("invitations/<str:token>/", facilitate.invitation, name="invitation"),
]
