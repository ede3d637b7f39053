from django.urls import path

from insights import views

app_name = "insights"

urlpatterns = [
    path("c/<slug:slug>/facilitate/health/", views.health, name="health"),
    path("c/<slug:slug>/facilitate/health.csv", views.health_csv, name="health-csv"),
    path("c/<slug:slug>/facilitate/rhythm/", views.rhythm, name="rhythm"),
    path("c/<slug:slug>/facilitate/rhythm/<int:beat_id>/<str:action>/", views.rhythm_action, name="rhythm-action"),
    path("site-health/", views.site_overview, name="site-overview"),
]
