from django.apps import AppConfig


class BookmarksConfig(AppConfig):
    name = "bookmarks"

    def ready(self) -> None:
        from bookmarks import email, queries, views
        from core import mail
        from discussions import post_extras

        # The reader's bookmark of each post comes with the thread page's posts (no query of its own).
        post_extras.register(views.mark_posts, "bookmarks/_post_action.html", queries.WITH_PAGE_OF_POSTS)
        mail.register_send_check(email.SEND_CHECK, email.still_wanted)
