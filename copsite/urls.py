from django.contrib import admin
from django.urls import include, path

from copsite import health, views

handler404 = "copsite.views.page_not_found"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("", include("accounts.urls")),
    path("", include("communities.urls")),
    path("", include("discussions.urls")),
    path("", include("resources.urls")),
    path("", include("digests.urls")),
    path("admin/", admin.site.urls),
]
