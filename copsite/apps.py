from django.apps import AppConfig


class CopsiteConfig(AppConfig):
    name = "copsite"
    verbose_name = "copsite"
