from django.urls import path

from resources import views

app_name = "resources"

urlpatterns = [
    path("c/<slug:slug>/library/", views.library, name="library"),
    path("c/<slug:slug>/library/add/", views.add, name="add"),
    path("c/<slug:slug>/library/due/", views.due, name="due"),
    path("c/<slug:slug>/library/removed/", views.removed, name="removed"),
    path("c/<slug:slug>/library/<int:pk>/restore/", views.restore, name="restore"),
    path("c/<slug:slug>/library/<int:pk>/publish/", views.publish, name="publish"),
    path("c/<slug:slug>/library/<int:pk>/endorse/", views.endorse, name="endorse"),
    path("c/<slug:slug>/library/<int:pk>/supersede/", views.supersede, name="supersede"),
    path("c/<slug:slug>/library/<int:pk>/review/", views.review, name="review"),
    path("c/<slug:slug>/library/<int:pk>/owner/", views.change_owner, name="owner"),
    path("c/<slug:slug>/library/<int:pk>/unpublish/", views.unpublish, name="unpublish"),
    path("c/<slug:slug>/library/<int:pk>/link/", views.link_thread, name="link-thread"),
    path("c/<slug:slug>/library/<int:pk>/link/<int:link>/remove/", views.unlink_thread, name="unlink-thread"),
    path("c/<slug:slug>/library/<int:pk>/versions/<int:version>/", views.version_download, name="version"),
    path(
        "c/<slug:slug>/library/<int:pk>/versions/<int:version>/restore/",
        views.version_restore,
        name="version-restore",
    ),
    path("c/<slug:slug>/library/<int:pk>/", views.detail, name="detail"),
    path("c/<slug:slug>/library/<int:pk>/edit/", views.edit, name="edit"),
    path("c/<slug:slug>/library/<int:pk>/remove/", views.remove, name="remove"),
    path("c/<slug:slug>/library/<int:pk>/pin/", views.pin, name="pin"),
    path("c/<slug:slug>/library/<int:pk>/helpful/", views.helpful, name="helpful"),
    path("c/<slug:slug>/library/<int:pk>/discuss/", views.discuss, name="discuss"),
    path("c/<slug:slug>/library/<int:pk>/file/", views.download, name="download"),
    path("c/<slug:slug>/library/<int:pk>/preview.png", views.preview, name="preview"),
]
