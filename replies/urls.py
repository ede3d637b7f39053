from django.urls import path

from replies import views

app_name = "replies"
urlpatterns = [
    path("email/<slug:esp>/inbound/", views.inbound, name="inbound"),
    # Mailgun's raw-MIME forwarding is chosen by "mime" in the URL it is given.
    path("email/<slug:esp>/inbound_mime/", views.inbound, name="inbound-mime"),
    path("email/<slug:esp>/tracking/", views.tracking, name="tracking"),
]
