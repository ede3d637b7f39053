from django.urls import path

from attachments import views

app_name = "attachments"

urlpatterns = [
    path("c/<slug:slug>/attachments/", views.upload, name="upload"),
    path("attachments/<slug:key>/<str:filename>", views.serve, name="file"),
    path("attachments/<slug:key>/t/<str:filename>", views.serve, {"thumbnail": True}, name="thumbnail"),
]
