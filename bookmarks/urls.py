from django.urls import path

from bookmarks import views

app_name = "bookmarks"

urlpatterns = [
    path("p/<int:pk>/bookmark/", views.toggle, name="toggle"),
    path("bookmarks/", views.bookmark_list, name="list"),
    path("bookmarks/<int:pk>/", views.edit, name="edit"),
    path("bookmarks/<int:pk>/remove/", views.remove, name="remove"),
]
