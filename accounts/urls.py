from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("settings/profile/", views.edit_profile, name="edit-profile"),
    path("settings/data/", views.your_data, name="your-data"),
    path("settings/data/download/", views.download_data, name="download-data"),
    path("settings/delete/", views.delete_account, name="delete-account"),
    path("u/<str:username>/", views.profile, name="profile"),
]
