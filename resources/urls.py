from django.urls import path

from resources import views

app_name = "resources"

urlpatterns = [
    path("c/<slug:slug>/library/", views.library, name="library"),
    path("c/<slug:slug>/library/add/", views.add, name="add"),
    path("c/<slug:slug>/library/<int:pk>/", views.detail, name="detail"),
    path("c/<slug:slug>/library/<int:pk>/edit/", views.edit, name="edit"),
    path("c/<slug:slug>/library/<int:pk>/remove/", views.remove, name="remove"),
    path("c/<slug:slug>/library/<int:pk>/pin/", views.pin, name="pin"),
    path("c/<slug:slug>/library/<int:pk>/helpful/", views.helpful, name="helpful"),
    path("c/<slug:slug>/library/<int:pk>/discuss/", views.discuss, name="discuss"),
    path("c/<slug:slug>/library/<int:pk>/file/", views.download, name="download"),
    path("c/<slug:slug>/library/<int:pk>/preview.png", views.preview, name="preview"),
]
