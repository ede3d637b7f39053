from django.urls import path

from practice import views

app_name = "practice"

urlpatterns = [
    path("c/<slug:slug>/library/<int:pk>/try/", views.commit, name="commit"),
    path("c/<slug:slug>/library/<int:pk>/how-it-went/", views.report, name="report"),
    path("practice/asked/<int:thread_id>/", views.ask, name="ask"),
    path("c/<slug:slug>/practice/", views.facilitator_report, name="facilitator_report"),
    path("c/<slug:slug>/practice.csv", views.facilitator_csv, name="facilitator_csv"),
]
