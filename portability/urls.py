from django.urls import path

from portability import views

app_name = "portability"

urlpatterns = [
    path("settings/data/", views.your_data, name="your-data"),
    path("settings/data/download/", views.download_data, name="download-data"),
    path("settings/delete/", views.delete_account, name="delete-account"),
    path("c/<slug:slug>/facilitate/export/", views.export, name="export-community"),
]
