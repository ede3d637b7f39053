"""The bookmark button on every post, the Bookmarks page and a bookmark's reminder."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.models import User, Viewer, signed_in
from bookmarks import queries, services, times
from bookmarks.forms import ReminderForm
from bookmarks.models import Bookmark
from core.http import HtmxRequest, next_url
from discussions.models import Post, Thread
from discussions.views.threads import post_url

PER_PAGE = 30
_STAND_IN = "2147483647"


@dataclass(frozen=True)
class BookmarkMark:
    """What a post's bookmark control needs: where to send the toggle, and the reader's bookmark, if any."""

    url: str
    bookmark: Bookmark | None
    edit_url: str


@cache
def _patterns(script_prefix: str) -> tuple[str, str]:
    """The two addresses, reversed once per process with a stand-in id (as discussions does for its post links)."""
    stand_in = int(_STAND_IN)
    return reverse("bookmarks:toggle", kwargs={"pk": stand_in}), reverse("bookmarks:edit", kwargs={"pk": stand_in})


def _mark(post_pk: int, bookmark: Bookmark | None) -> BookmarkMark:
    toggle, edit = _patterns(get_script_prefix())
    return BookmarkMark(
        url=toggle.replace(_STAND_IN, str(post_pk)),
        bookmark=bookmark,
        edit_url=edit.replace(_STAND_IN, str(bookmark.pk)) if bookmark is not None else "",
    )


def mark_posts(reader: Viewer, thread: Thread, posts: list[Post], fresh: bool) -> None:
    """The reader's bookmarks among a page of posts, for each post's control.

    Registered with discussions.post_extras. The thread page's posts bring
    them along (``post.joined``); other posts cost one query for them all,
    fresh ones none. Only people signed in get a control, and only on posts
    whose content they may read (not on tombstones).
    """
    for post in posts:
        post.marks["bookmark"] = None
    if not isinstance(reader, User):
        return
    shown = [post for post in posts if post.show_content and not post.is_deleted]
    if fresh:
        mine: dict[int, Bookmark] = {}
    elif all("joined" in post.__dict__ for post in shown):
        mine = {post.pk: post.joined[queries.JOINED] for post in shown if post.joined.get(queries.JOINED) is not None}
    else:
        mine = queries.bookmarks_among(reader, [post.pk for post in shown])
    for post in shown:
        post.marks["bookmark"] = _mark(post.pk, mine.get(post.pk))


def _readable_post_or_404(request: HttpRequest, pk: int) -> Post:
    post = queries.readable_post(request.user, pk)
    if post is None:
        raise Http404("No such post.")
    return post


def _control(request: HttpRequest, post: Post, bookmark: Bookmark | None, **extra: object) -> HttpResponse:
    return render(request, "bookmarks/_control.html", {"post": post, "mark": _mark(post.pk, bookmark), **extra})


def toggle(request: HtmxRequest, pk: int) -> HttpResponse:
    """POST action=add|remove: bookmark the post or stop. GET (htmx): the control as it stands."""
    post = _readable_post_or_404(request, pk)
    if not request.user.is_authenticated:
        return redirect_to_login(post.get_absolute_url())
    user = signed_in(request)
    if request.method == "GET":
        if not request.htmx:
            return redirect(post.get_absolute_url())
        return _control(request, post, queries.bookmarks_among(user, [post.pk]).get(post.pk))
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    action = request.POST.get("action")
    bookmark: Bookmark | None
    if action == "add":
        bookmark = services.add_bookmark(user, post)
        said = "Bookmarked. You'll find it under Bookmarks in your menu."
    elif action == "remove":
        services.remove_bookmark(user, post)
        bookmark, said = None, "Bookmark removed."
    else:
        return HttpResponseBadRequest("Say add or remove.", content_type="text/plain")
    if request.htmx:
        return _control(request, post, bookmark)
    messages.success(request, said)
    return redirect(post_url(post))


@login_required
def bookmark_list(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    page = Paginator(queries.listed(user), PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "bookmarks/list.html", {"page": page, "now": timezone.now()})


def _next_url(request: HttpRequest) -> str:
    return next_url(request, reverse("bookmarks:list"))


def _when(bookmark: Bookmark, zone_name: str) -> str:
    if bookmark.remind_at is None:
        return ""
    local = bookmark.remind_at.astimezone(times.zone_of(zone_name))
    return f"{local:%a} {local.day} {local:%b}, {local:%H:%M}"


@login_required
def edit(request: HtmxRequest, pk: int) -> HttpResponse:
    """A bookmark's reminder and note: a page of its own, or (htmx, ``inline``) inside the post's action row."""
    user = signed_in(request)
    bookmark = queries.bookmark_of(user, pk)
    if bookmark is None:
        raise Http404("No such bookmark.")
    inline = bool(request.htmx) and (request.POST.get("inline") or request.GET.get("inline")) == "1"
    form = ReminderForm(request.POST or None, bookmark=bookmark, now=timezone.now(), zone_name=user.time_zone)
    if request.method == "POST" and form.is_valid():
        bookmark = services.set_reminder(
            user, bookmark, remind_at=form.cleaned_data["remind_at"], note=form.cleaned_data["note"]
        )
        if inline:
            return _control(request, bookmark.post, bookmark)
        when = _when(bookmark, user.time_zone)
        messages.success(request, f"I'll remind you on {when}." if bookmark.reminder_pending else "Bookmark saved.")
        return redirect(_next_url(request))
    context = {"bookmark": bookmark, "post": bookmark.post, "form": form, "next": _next_url(request)}
    if inline:
        return _control(request, bookmark.post, bookmark, reminder_form=form)
    return render(request, "bookmarks/edit.html", context)


@login_required
@require_POST
def remove(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    bookmark = queries.bookmark_of(user, pk)
    if bookmark is None:
        raise Http404("No such bookmark.")
    services.remove_bookmark(user, bookmark.post)
    messages.success(request, "Bookmark removed.")
    return redirect(_next_url(request))
