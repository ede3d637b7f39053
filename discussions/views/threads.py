"""Thread lists, thread pages, starting threads and replying."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import cache
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.http import RFC3986_SUBDELIMS

from accounts.models import signed_in
from communities import panels, policy
from communities import queries as community_queries
from communities.models import Community
from core import drafts, ratelimit, spam
from core.http import HtmxRequest
from core.refusals import Refused
from discussions import post_extras, queries, services
from discussions.forms import ReplyForm, ThreadForm
from discussions.models import Post, ReadState, Thread
from discussions.reading import unread_label
from discussions.views import watching

# Replies deeper than this stay at the last indent and say whom they answer.
MAX_INDENT = 5
# An id no row has: links reversed once per page with it, then filled in per row.
_STAND_IN = "2147483647"
# The characters reverse() leaves unquoted in a path (django.urls.resolvers).
_PATH_SAFE = RFC3986_SUBDELIMS + "/~:@"
HELD_MESSAGE = "Thanks! A facilitator will look at your post before others see it."


# Threads of a kind another app draws (a hosted chat's live page: events), by kind.
# The app registers its view in AppConfig.ready(); it gets the request, the
# thread (already checked visible) and the reader's ReadState (or None), and
# calls ``remember_shown`` with the posts it shows.
KindPage = Callable[[HttpRequest, Thread, ReadState | None], HttpResponse]
KIND_PAGES: dict[str, KindPage] = {}


def register_kind_page(kind: str, page: KindPage) -> None:
    KIND_PAGES[kind] = page


# Pages past this are not looked up as asked (the offset would overflow SQLite); the last page is shown.
_MAX_PAGE = 1_000_000


def thread_list_panel(request: HttpRequest, community: Community) -> panels.Panel:
    kind = request.GET.get("kind", "")
    kind = kind if kind in Thread.Kind.values else ""
    tag = request.GET.get("tag", "")[:40]
    user = request.user
    # Unread markers are for members: someone who can't post here has no read markers to show.
    markers = user.is_authenticated and policy.can_post(user, community)
    # Watching levels: a member's muted threads are out of the list, and in the "Muted" view alone.
    muted = markers and request.GET.get("show") == "muted"
    try:
        wanted = int(request.GET.get("page", 1))
    except ValueError:
        wanted = 1
    asked = wanted if 1 <= wanted <= _MAX_PAGE else 1
    per_page = settings.THREADS_PER_PAGE
    threads, total, muted_count = queries.thread_list_page(
        community, user, kind=kind, tag=tag, offset=(asked - 1) * per_page, markers=markers, muted=muted
    )
    # Django's paginator decides what an odd page number means (the last page), as everywhere else.
    page = Paginator(range(total), per_page).get_page(wanted)
    if page.number != asked:
        threads, total, muted_count = queries.thread_list_page(
            community, user, kind=kind, tag=tag, offset=(page.number - 1) * per_page, markers=markers, muted=muted
        )
    page.object_list = threads  # type: ignore[assignment]  # the page's rows, read with the list's own statement
    _link_threads(community, threads)
    return panels.Panel(
        "discussions/_thread_list.html",
        {
            "page": page,
            "kind": kind,
            "tag": tag,
            "kinds": Thread.Kind.choices,
            "can_start": policy.can_start_thread(user, community),
            "muted": muted,
            "muted_count": muted_count,
        },
        order=10,
    )


def _link_threads(community: Community, threads) -> None:
    """``thread.url``, ``thread.first_unread_url`` (each route reversed once, see POST_LINKS) and ``unread_label``."""
    kwargs = {"slug": community.slug, "pk": int(_STAND_IN)}
    thread_url = reverse("discussions:thread", kwargs=kwargs)
    first_unread = reverse("discussions:first-unread", kwargs=kwargs)
    for thread in threads:
        pk = str(thread.pk)
        thread.url = thread_url.replace(_STAND_IN, pk)
        thread.first_unread_url = first_unread.replace(_STAND_IN, pk)
        thread.unread_label = unread_label(thread.unread_count) if thread.unread_count is not None else ""


def _canonical(request: HttpRequest, thread: Thread, slug: str) -> HttpResponse | None:
    """Moved threads keep working: redirect /c/<old>/t/<id>/ to the thread's community."""
    if thread.community.slug != slug:
        url = thread.get_absolute_url()
        if request.GET:
            url += "?" + request.GET.urlencode()
        return redirect(url, permanent=False)
    return None


def thread_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    thread, read_state = queries.thread_for_reader(request.user, pk)
    if response := _canonical(request, thread, slug):
        return response
    if thread.kind in KIND_PAGES:
        return KIND_PAGES[thread.kind](request, thread, read_state)
    community = thread.community
    per_page = settings.POSTS_PER_PAGE
    total = thread.reply_count + 1
    num_pages = max(1, -(-total // per_page))
    try:
        number = min(max(int(request.GET.get("page", 1)), 1), num_pages)
    except ValueError:
        number = 1
    posts = queries.page_of_posts(thread, (number - 1) * per_page, per_page, reader=request.user)
    helpful = {post.pk for post in posts if post.reader_found_helpful}
    decorate_posts(request.user, thread, posts, helpful=helpful, read_state=read_state)
    remember_shown(request, thread, posts, read_state)
    context = {
        "community": community,
        "thread": thread,
        "posts": posts,
        "tags": thread.tag_names,
        "page_number": number,
        "num_pages": num_pages,
        # Page links: the first, the last and two either side of this one.
        "page_range": sorted({1, num_pages, *range(max(1, number - 2), min(num_pages, number + 2) + 1)}),
        "can_reply": policy.can_reply(request.user, thread),
        "can_moderate": policy.can_moderate_thread(request.user, thread),
        "can_accept": policy.can_accept_answer(request.user, thread),
        "is_member": policy.can_post(request.user, community),
        "reply_form": ReplyForm(),
        "accepted": _accepted_answer(request.user, thread),
        "watch_control": watching.thread_control(request.user, thread),
        # A subgroup's thread says who reads it; a guest sees until when they may.
        "subgroup": community_queries.subgroup_with_count(thread.subgroup_id) if thread.subgroup_id else None,
        "guest_place": queries.guest_place(request.user, thread)
        if policy.posts_as_guest(request.user, thread)
        else None,
        "can_invite_guests": policy.can_invite_guest(request.user, thread),
    }
    return render(request, "discussions/thread.html", context)


def remember_shown(request: HttpRequest, thread: Thread, posts: list[Post], read_state: ReadState | None) -> None:
    """The posts this page shows (decorated: ``post.shown``) are read now, and only they (members only).

    The page's "new" markers were worked out from ``read_state`` before: they
    show what was new when the page was asked for. Re-reading costs no write.
    """
    if policy.can_post(request.user, thread.community):
        services.mark_read(request.user, thread, [post.number for post in posts if post.shown], state=read_state)


def _accepted_answer(user, thread: Thread) -> Post | None:
    """The accepted answer shown above the posts, if there is one this person may read."""
    answer = queries.accepted_answer(thread)
    return answer if answer is not None and policy.can_see_post_content(user, answer) else None


# The links on every post, by attribute. reverse() costs tens of microseconds
# and a member's page showed seven links per post: each route is reversed once
# per process (and script prefix) with a stand-in id, then the id is filled in per post.
POST_LINKS = {
    "permalink": "discussions:post",
    "history_url": "discussions:history",
    "edit_url": "discussions:edit",
    "delete_url": "discussions:delete",
    "flag_url": "discussions:flag",
    "helpful_url": "discussions:helpful",
    "accept_url": "discussions:accept",
    "hide_url": "discussions:hide",
    "unhide_url": "discussions:unhide",
    "approve_url": "discussions:approve",
    "reject_url": "discussions:reject",
}


@cache
def _post_link_patterns(script_prefix: str) -> tuple[dict[str, str], str]:
    patterns = {attr: reverse(name, kwargs={"pk": int(_STAND_IN)}) for attr, name in POST_LINKS.items()}
    return patterns, reverse("accounts:profile", kwargs={"username": _STAND_IN})


def _link_posts(thread: Thread, posts: list[Post]) -> None:
    patterns, profile = _post_link_patterns(get_script_prefix())
    reply = reverse("discussions:reply", kwargs={"slug": thread.community.slug, "pk": thread.pk})
    for post in posts:
        pk = str(post.pk)
        for attr, pattern in patterns.items():
            setattr(post, attr, pattern.replace(_STAND_IN, pk))
        # What reverse() would give: the same quoting of the one variable part.
        author = post.author
        post.author_url = profile.replace(_STAND_IN, quote(author.username, safe=_PATH_SAFE)) if author else ""
        post.reply_url = f"{reply}?to={pk}"
        post.parent_link = patterns["permalink"].replace(_STAND_IN, str(post.parent_id))


def decorate_posts(
    user,
    thread: Thread,
    posts: list[Post],
    *,
    helpful=frozenset(),
    read_state: ReadState | None = None,
    fresh: bool = False,
) -> None:
    """Per-post flags the template needs, decided by policy (no queries: membership is cached).

    ``post.shown``: whether the page draws the post at all (a post held for
    review is drawn only for its author and the facilitators); ``is_unread``:
    readable (not a tombstone), not the reader's own, and never shown to them
    before (``read_state``; without one, nothing is marked: all is new on a first visit).
    Then what apps above add (discussions.post_extras): one look-up for the whole page, none
    for ``fresh`` posts, which the reader sees for the first time (the reply they just sent,
    a live chat's new answers).
    """
    position = read_state.position if read_state is not None else None
    previous = None
    for post in posts:
        post.thread = thread
        if "replying_to" not in post.__dict__:  # page_of_posts sets it; others select parent__author
            post.replying_to = post.parent.author if post.parent is not None else None
        post.show_content = policy.can_see_post_content(user, post)
        post.shown = not post.is_held or post.show_content
        post.indent = min(max(post.depth - 1, 0), MAX_INDENT)
        # Say whom a reply answers when the layout can't: past the last
        # indent, or when its parent is not right above it on this page.
        post.says_parent = post.depth >= 2 and (
            post.depth > MAX_INDENT + 1 or previous is None or previous.pk != post.parent_id
        )
        post.can_edit = policy.can_edit_post(user, post)
        post.can_delete = policy.can_delete_post(user, post)
        post.can_react = policy.can_react(user, post)
        post.can_flag = policy.can_flag(user, post)
        post.i_found_helpful = post.pk in helpful
        # What the counts count: posts the reader may read (not a tombstone), not their own, never shown.
        post.is_unread = bool(
            position is not None
            and post.show_content
            and post.author_id != user.pk
            and not position.has_read(post.number)
        )
        post.is_accepted = thread.accepted_answer_id == post.pk
        previous = post
    _link_posts(thread, posts)
    post_extras.mark(user, thread, posts, fresh=fresh)


def permalink(request: HttpRequest, pk: int) -> HttpResponse:
    """/p/<id>/ → the thread page that holds the post, scrolled to it."""
    post = queries.post_with_thread(pk)
    if post is None or not policy.can_view_thread(request.user, post.thread):
        raise Http404("No such post.")
    return redirect(post_url(post))


def post_url(post: Post) -> str:
    page = queries.position_in_thread(post) // settings.POSTS_PER_PAGE + 1
    query = f"?page={page}" if page > 1 else ""
    return f"{post.thread.get_absolute_url()}{query}#post-{post.pk}"


def first_unread(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    thread = policy.get_thread_or_404(request.user, Thread.objects.all(), pk)
    target = queries.first_unread_post(thread, request.user)
    if target is None:
        return redirect(thread.get_absolute_url())
    return redirect(post_url(target))


def rate_limited(request: HttpRequest) -> ratelimit.Refusal | None:
    """Posting limit for the person (stricter for accounts younger than a day) and their address."""
    young = signed_in(request).date_joined > timezone.now() - timedelta(days=1)
    spec = settings.NEW_ACCOUNT_POST_RATE_LIMIT if young else settings.POST_RATE_LIMIT
    return ratelimit.check(request, "post", person_spec=spec)


def posting_too_fast(refusal: ratelimit.Refusal) -> str:
    unit = "minute" if refusal.minutes == 1 else "minutes"
    return (
        f"You're posting faster than this site allows. Please wait about {refusal.minutes} {unit}"
        " and send again: your text is kept below."
    )


def previewing_too_fast(refusal: ratelimit.Refusal, *, htmx: bool = False) -> str:
    unit = "minute" if refusal.minutes == 1 else "minutes"
    said = f"You're previewing faster than this site allows. Please wait about {refusal.minutes} {unit}"
    # htmx answers leave the form as it is; the page script adds that the text is still there.
    return f"{said}." if htmx else f"{said} and preview again: your text is kept below."


def submission_limited(request: HttpRequest) -> ratelimit.Refusal | None:
    """Count a valid submission before its Markdown is rendered (the costly part; BodyMixin).

    A preview counts against PREVIEW_RATE_LIMIT, a post against the posting
    limit, each per person and per address: previews render as much as posts.
    """
    return ratelimit.check(request, "preview") if "preview" in request.POST else rate_limited(request)


def too_fast(request: HttpRequest, refusal: ratelimit.Refusal) -> str:
    return previewing_too_fast(refusal) if "preview" in request.POST else posting_too_fast(refusal)


def start_thread(request: HttpRequest, slug: str) -> HttpResponse:
    community = policy.get_community_or_404(request.user, slug)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not policy.can_start_thread(request.user, community):
        raise Refused("Join the community to start a thread.")
    subgroups = community_queries.subgroups_to_post_in(request.user, community)
    chosen = next((s for s in subgroups if s.slug == request.GET.get("subgroup")), None)
    form = ThreadForm(request.POST or None, subgroups=subgroups, initial={"subgroup": chosen})
    preview = None
    status, retry_after = 200, None
    if request.method == "POST" and form.is_valid():
        if refusal := submission_limited(request):
            form.add_error(None, too_fast(request, refusal))
            status = 429
            retry_after = refusal.wait
        elif not form.render_body():
            pass  # the reason is on the field, the text kept
        elif "preview" in request.POST:
            preview = form.rendered.html
        else:
            try:
                thread = _start(request, community, form)
            except services.DiscussionError as exc:  # removed from the subgroup since the page was shown
                form.add_error("subgroup", str(exc))
            else:
                messages.success(request, HELD_MESSAGE if thread.held_at else "Your thread is posted.")
                return drafts.posted(request, redirect(thread))
    response = render(
        request,
        "discussions/new_thread.html",
        {"community": community, "form": form, "preview": preview},
        status=status,
    )
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def _start(request: HttpRequest, community: Community, form: ThreadForm) -> Thread:
    data = form.cleaned_data
    return services.start_thread(
        signed_in(request),
        community,
        title=data["title"],
        body=data["body"],
        kind=data["kind"],
        tags=data["tags"],
        submission_key=data["submission_key"],
        rendered=form.rendered,
        suspected_spam=spam.suspected(request, f"{data['title']}\n\n{data['body']}"),
        subgroup=data.get("subgroup"),
    )


def reply(request: HtmxRequest, slug: str, pk: int) -> HttpResponse:
    """GET: the reply form (inline partial for htmx); POST: post the reply."""
    thread = policy.get_thread_or_404(request.user, Thread.objects.all(), pk)
    if not request.user.is_authenticated:
        return redirect_to_login(thread.get_absolute_url())
    parent_id = request.POST.get("parent") or request.GET.get("to")
    parent = _parent_or_none(thread, parent_id)
    if not policy.can_reply(request.user, thread):
        reason = "This thread is locked." if thread.is_locked else "Join the community to reply."
        raise Refused(reason)
    # Inline forms get a prefix so their fields' ids don't clash with the
    # thread's own reply form on the same page.
    form = ReplyForm(request.POST or None, prefix=f"to{parent.pk}" if parent else None)
    # Quote the parent only if this person may read it (hidden and deleted posts stay hidden).
    quote = parent if parent is not None and policy.can_see_post_content(request.user, parent) else None
    context: dict[str, object] = {
        "thread": thread,
        "community": thread.community,
        "parent": parent,
        "quote": quote,
        "form": form,
    }
    status, retry_after = 200, None
    if request.method == "POST" and form.is_valid():
        if (refusal := submission_limited(request)) and request.htmx and "preview" in request.POST:
            # htmx swaps no 429: the form stays as it is, text included, and the page says why.
            return ratelimit.refuse(request, refusal, previewing_too_fast(refusal, htmx=True))
        if refusal:
            form.add_error(None, too_fast(request, refusal))
            status = 429
            retry_after = refusal.wait
        elif not form.render_body():
            pass  # the reason is on the field, the text kept
        elif "preview" in request.POST:
            context["preview"] = form.rendered.html
        else:
            try:
                post = services.reply(
                    request.user,
                    thread,
                    form.cleaned_data["body"],
                    parent=parent,
                    submission_key=form.cleaned_data["submission_key"],
                    rendered=form.rendered,
                    suspected_spam=spam.suspected(request, form.cleaned_data["body"]),
                )
            except services.DiscussionError as exc:
                form.add_error(None, str(exc))
            else:
                if request.htmx:
                    return drafts.posted(request, _new_post_fragment(request, thread, post))
                messages.success(request, HELD_MESSAGE if post.is_held else "Your reply is posted.")
                return drafts.posted(request, redirect(post_url(post)))
    template = "discussions/_reply_form.html" if request.htmx else "discussions/reply.html"
    # htmx swaps only 2xx answers; the form (with the text) must come back.
    response = render(request, template, context, status=200 if request.htmx else status)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def _parent_or_none(thread: Thread, parent_id: str | None) -> Post | None:
    if not parent_id:
        return None
    try:
        parent = queries.reply_parent(thread, int(parent_id))
    except (TypeError, ValueError):
        raise Http404("No such post.") from None
    if parent is None:
        raise Http404("No such post.")
    return parent


def _new_post_fragment(request: HttpRequest, thread: Thread, post: Post) -> HttpResponse:
    post = queries.post_as_listed(post.pk)
    decorate_posts(request.user, thread, [post], fresh=True)
    post.says_parent = post.depth >= 2
    return render(
        request,
        "discussions/_new_post.html",
        {
            "post": post,
            "thread": thread,
            "community": thread.community,
            "just_posted": True,
            "can_reply": True,
            "can_moderate": policy.can_moderate_thread(request.user, thread),
            "can_accept": policy.can_accept_answer(request.user, thread),
        },
    )
