from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("notifications/", views.notification_list, name="list"),
    path("notifications/menu/", views.menu, name="menu"),
    path("notifications/alerts/", views.alert_settings, name="alerts"),
    path("notifications/<int:pk>/open/", views.open_notification, name="open"),
]
