from django.urls import path

from digests import views

app_name = "digests"

urlpatterns = [
    path("settings/email/", views.preferences, name="preferences"),
    path("email/unsubscribe/<str:token>/", views.unsubscribe_view, name="unsubscribe"),
    path("c/<slug:slug>/facilitate/digest-preview/", views.preview, name="preview"),
]
