from django.urls import path

from digests import views

app_name = "digests"

urlpatterns = [
    path("settings/email/", views.preferences, name="preferences"),
    path("email/unsubscribe/<str:token>/", views.unsubscribe_view, name="unsubscribe"),
    path("email/notifications/<str:token>/", views.notification_unsubscribe, name="notification-unsubscribe"),
    path("email/undo/<str:token>/", views.undo_view, name="undo"),
    path("c/<slug:slug>/facilitate/digest-preview/", views.preview, name="preview"),
]
