from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("settings/profile/", views.edit_profile, name="edit-profile"),
    path("u/<str:username>/", views.profile, name="profile"),
]
