from django.apps import AppConfig


class BookmarksConfig(AppConfig):
    name = "bookmarks"

    def ready(self) -> None:
        from bookmarks import email, views
        from bookmarks.models import Bookmark
        from core import mail
        from core.db import Columns
        from discussions import post_extras

        # The reader's bookmark of each post comes with the thread page's posts (no query of its own).
        joined = post_extras.Joined(views.JOINED, Columns(Bookmark, "bm", fields=views.MARK_FIELDS))
        post_extras.register(views.mark_posts, "bookmarks/_post_action.html", joined)
        mail.register_send_check(email.SEND_CHECK, email.still_wanted)
