from django.apps import AppConfig


class BookmarksConfig(AppConfig):
    name = "bookmarks"

    def ready(self) -> None:
        from bookmarks import email, views
        from core import mail
        from discussions import post_extras

        post_extras.register(views.mark_posts, "bookmarks/_post_action.html")
        mail.register_send_check(email.SEND_CHECK, email.still_wanted)
