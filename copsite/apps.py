from django.apps import AppConfig


class CopsiteConfig(AppConfig):
    name = "copsite"
    verbose_name = "copsite"

    def ready(self) -> None:
        from copsite import pagecache

        pagecache.connect()
