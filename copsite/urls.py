"""The project's URLs: each app's own, under one root (the layers are in docs/architecture.md)."""

from django.contrib import admin
from django.urls import include, path

from core import health
from core import views as core_views
from discovery import home, sitemaps

handler404 = "core.views.page_not_found"
handler500 = "core.middleware.server_error"
# Not a Django handler: allauth calls it when sign-up, login or reset is over its limit.
handler429 = "core.ratelimit.too_many_requests"

urlpatterns = [
    path("", home.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    # A member's own copy of a posting form's draft (core/drafts.py), for site.js.
    path("drafts/<str:key>/", core_views.draft, name="draft"),
    path("robots.txt", sitemaps.robots_txt, name="robots"),
    path("sitemap.xml", sitemaps.index, name="sitemap"),
    path("sitemap-<slug:section>.xml", sitemaps.sitemap_section, name="sitemap-section"),
    path("accounts/", include("allauth.urls")),
    path("", include("accounts.urls")),
    path("", include("communities.urls")),
    path("", include("discussions.urls")),
    path("", include("resources.urls")),
    path("", include("events.urls")),
    path("", include("value.urls")),
    path("", include("attachments.urls")),
    path("", include("notifications.urls")),
    path("", include("bookmarks.urls")),
    path("", include("practice.urls")),
    path("", include("digests.urls")),
    path("", include("discovery.urls")),
    path("", include("portability.urls")),
    path("", include("replies.urls")),
    path("", include("insights.urls")),
    path("admin/", admin.site.urls),
]
