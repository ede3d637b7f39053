from django.urls import path

from value import views

app_name = "value"

urlpatterns = [
    path("value/<str:kind>/<int:pk>/add/", views.add, name="add"),
    path("value/notes/<int:pk>/edit/", views.edit, name="edit"),
    path("value/notes/<int:pk>/delete/", views.delete, name="delete"),
    path("c/<slug:slug>/value/", views.report, name="report"),
    path("c/<slug:slug>/value/print/", views.report_print, name="report-print"),
    path("c/<slug:slug>/value/report.csv", views.report_csv, name="report-csv"),
]
