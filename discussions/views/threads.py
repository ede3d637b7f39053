"""Thread lists, thread pages, starting threads and replying."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import cache
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.contrib.contenttypes.models import ContentType
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.http import RFC3986_SUBDELIMS
from taggit.models import Tag, TaggedItem

from accounts.models import NAME_FIELDS, User
from communities import panels, policy
from communities.models import Community, Membership
from core import ratelimit, spam
from core.db import Columns, fetch_all
from core.refusals import Refused
from discussions import services
from discussions.forms import ReplyForm, ThreadForm
from discussions.models import Post, Reaction, ReadState, Thread

# Replies deeper than this stay at the last indent and say whom they answer.
MAX_INDENT = 5
# An id no row has: links reversed once per page with it, then filled in per row.
_STAND_IN = "2147483647"
# The characters reverse() leaves unquoted in a path (django.urls.resolvers).
_PATH_SAFE = RFC3986_SUBDELIMS + "/~:@"
HELD_MESSAGE = "Thanks! A facilitator will look at your post before others see it."


# A page of a community's thread list, written out (core.db.Columns): the
# rows with their two people, the reader's read markers and the number of
# threads in the list, in one statement. Through the ORM the list cost two
# queries (page count, rows) and a third for a member's markers, and more CPU
# to compose than the database spent on all three. The columns are what a
# row shows (_thread_list.html): not the search vector, which is as long as
# the opening post. Table names come from the models; every value is a parameter.

# Threads of a kind another app draws (a hosted chat's live page: events), by kind.
# The app registers its view in AppConfig.ready(); it gets the request and the
# thread, already checked visible and marked read.
KindPage = Callable[[HttpRequest, Thread], HttpResponse]
KIND_PAGES: dict[str, KindPage] = {}


def register_kind_page(kind: str, page: KindPage) -> None:
    KIND_PAGES[kind] = page


_ROW_COLUMNS = Columns(
    Thread,
    "t",
    fields=[
        "community",
        "author",
        "last_poster",
        "title",
        "kind",
        "created_at",
        "pinned_at",
        "pinned",
        "locked_at",
        "reply_count",
        "last_activity_at",
        "held_at",
        "tag_names",
    ],
)
_ROW_AUTHOR = Columns(User, "a", fields=NAME_FIELDS)
_ROW_LAST_POSTER = Columns(User, "lp", fields=NAME_FIELDS)
_ROW_READ_STATE = Columns(ReadState, "rs", fields=["last_read_at"])
# Pages past this are not looked up as asked (the offset would overflow SQLite); the last page is shown.
_MAX_PAGE = 1_000_000


def _listed_where(alias: str, community: Community, held: str, viewer_pk, kind: str, tag: str) -> tuple[str, list]:
    """WHERE for the threads a list shows: the community, what ``policy.listed_held_threads`` allows, the filters."""
    where, params = [f"{alias}.community_id = %s"], [community.pk]
    if held == policy.HeldListed.NONE:
        where.append(f"{alias}.held_at IS NULL")
    elif held == policy.HeldListed.OWN:
        where.append(f"({alias}.held_at IS NULL OR {alias}.author_id = %s)")
        params.append(viewer_pk)
    if kind:
        where.append(f"{alias}.kind = %s")
        params.append(kind)
    if tag:
        where.append(
            f"{alias}.id IN (SELECT ti.object_id FROM {TaggedItem._meta.db_table} ti"  # noqa: S608
            f" JOIN {Tag._meta.db_table} tg ON tg.id = ti.tag_id WHERE ti.content_type_id = %s AND tg.name = %s)"
        )
        params += [ContentType.objects.get_for_model(Thread).pk, tag]
    return " AND ".join(where), params


def _thread_rows(community: Community, held: str, viewer_pk, reader_pk, kind: str, tag: str, offset: int):
    """One page of the list from ``offset``: threads (with people and ``unread``) and the list's length.

    ``viewer_pk`` is whose own held threads show; ``reader_pk`` whose read markers (None: nobody's).
    """
    where, params = _listed_where("t", community, held, viewer_pk, kind, tag)
    count_where, count_params = _listed_where("n", community, held, viewer_pk, kind, tag)
    sql = (
        f"SELECT {_ROW_COLUMNS.sql}, {_ROW_AUTHOR.sql}, {_ROW_LAST_POSTER.sql}, {_ROW_READ_STATE.sql},"  # noqa: S608
        f" (SELECT COUNT(*) FROM {Thread._meta.db_table} n WHERE {count_where})"
        f" FROM {Thread._meta.db_table} t"
        f" LEFT JOIN {User._meta.db_table} a ON a.id = t.author_id"
        f" LEFT JOIN {User._meta.db_table} lp ON lp.id = t.last_poster_id"
        f" LEFT JOIN {ReadState._meta.db_table} rs ON rs.thread_id = t.id AND rs.user_id = %s"
        f" WHERE {where} ORDER BY t.pinned DESC, t.last_activity_at DESC LIMIT %s OFFSET %s"
    )
    rows = fetch_all(sql, [*count_params, reader_pk, *params, settings.THREADS_PER_PAGE, offset])
    if not rows:  # an empty list, or a page past its end: count on its own
        count_sql = f"SELECT COUNT(*) FROM {Thread._meta.db_table} n WHERE {count_where}"  # noqa: S608
        return [], fetch_all(count_sql, count_params)[0][0]
    threads = []
    widths = [_ROW_COLUMNS.width, _ROW_AUTHOR.width, _ROW_LAST_POSTER.width]
    people: dict = {}  # one instance per person, however many rows name them
    for row in rows:
        thread = _ROW_COLUMNS.build(row)
        thread.community = community  # links use it; saves a query per row
        thread.author = _ROW_AUTHOR.build(row, widths[0], seen=people)
        thread.last_poster = _ROW_LAST_POSTER.build(row, widths[0] + widths[1], seen=people)
        read = _ROW_READ_STATE.build(row, sum(widths))
        # New activity since the member last read it (only members' markers are looked up).
        thread.unread = reader_pk is not None and (read is None or thread.last_activity_at > read.last_read_at)
        threads.append(thread)
    return threads, rows[0][-1]


def thread_list_panel(request: HttpRequest, community: Community) -> panels.Panel:
    kind = request.GET.get("kind", "")
    kind = kind if kind in Thread.Kind.values else ""
    tag = request.GET.get("tag", "")[:40]
    user = request.user
    held = policy.listed_held_threads(user, community)
    viewer_pk = user.pk if user.is_authenticated else None
    # Unread markers are for members: someone who can't post here has no read markers to show.
    reader_pk = user.pk if user.is_authenticated and policy.can_post(user, community) else None
    try:
        wanted = int(request.GET.get("page", 1))
    except ValueError:
        wanted = 1
    asked = wanted if 1 <= wanted <= _MAX_PAGE else 1
    per_page = settings.THREADS_PER_PAGE
    threads, total = _thread_rows(community, held, viewer_pk, reader_pk, kind, tag, (asked - 1) * per_page)
    # Django's paginator decides what an odd page number means (the last page), as everywhere else.
    page = Paginator(range(total), per_page).get_page(wanted)
    if page.number != asked:
        threads, total = _thread_rows(community, held, viewer_pk, reader_pk, kind, tag, (page.number - 1) * per_page)
    page.object_list = threads
    _link_threads(community, threads)
    return panels.Panel(
        "discussions/_thread_list.html",
        {
            "page": page,
            "kind": kind,
            "tag": tag,
            "kinds": Thread.Kind.choices,
            "can_start": policy.can_start_thread(user, community),
        },
        order=10,
    )


def _link_threads(community: Community, threads) -> None:
    """``thread.url`` and ``thread.first_unread_url`` for a list: each route reversed once (see POST_LINKS)."""
    kwargs = {"slug": community.slug, "pk": int(_STAND_IN)}
    thread_url = reverse("discussions:thread", kwargs=kwargs)
    first_unread = reverse("discussions:first-unread", kwargs=kwargs)
    for thread in threads:
        pk = str(thread.pk)
        thread.url = thread_url.replace(_STAND_IN, pk)
        thread.first_unread_url = first_unread.replace(_STAND_IN, pk)


def _canonical(request: HttpRequest, thread: Thread, slug: str) -> HttpResponse | None:
    """Moved threads keep working: redirect /c/<old>/t/<id>/ to the thread's community."""
    if thread.community.slug != slug:
        url = thread.get_absolute_url()
        if request.GET:
            url += "?" + request.GET.urlencode()
        return redirect(url, permanent=False)
    return None


def thread_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    thread, read_state = thread_for_reader(request.user, pk)
    if response := _canonical(request, thread, slug):
        return response
    community = thread.community
    per_page = settings.POSTS_PER_PAGE
    total = thread.reply_count + 1
    num_pages = max(1, -(-total // per_page))
    try:
        number = min(max(int(request.GET.get("page", 1)), 1), num_pages)
    except ValueError:
        number = 1
    posts = page_of_posts(thread, (number - 1) * per_page, per_page, reader=request.user)
    helpful = {post.pk for post in posts if post.reader_found_helpful}
    decorate_posts(request.user, thread, posts, helpful=helpful, read_state=read_state)
    # Write the read marker only when there is something new: re-reading costs no write.
    if policy.can_post(request.user, community) and (
        read_state is None or read_state.last_read_at < thread.last_activity_at
    ):
        services.mark_read(request.user, thread)
    if thread.kind in KIND_PAGES:
        return KIND_PAGES[thread.kind](request, thread)
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
    }
    return render(request, "discussions/thread.html", context)


# The thread a page shows, with its community, the reader's membership and
# how far they have read, in one statement written out (core.db.Columns):
# composing it through the ORM cost more CPU than three queries' answers.
_THREAD_COLUMNS = Columns(Thread, "t", exclude=["search_vector"])
_COMMUNITY_COLUMNS = Columns(Community, "c")
_MEMBERSHIP_COLUMNS = Columns(Membership, "m")
_READ_STATE_COLUMNS = Columns(ReadState, "rs")
_THREAD_SQL = (
    f"SELECT {_THREAD_COLUMNS.sql}, {_COMMUNITY_COLUMNS.sql}, {_MEMBERSHIP_COLUMNS.sql}, {_READ_STATE_COLUMNS.sql}"  # noqa: S608
    f" FROM {Thread._meta.db_table} t JOIN {Community._meta.db_table} c ON c.id = t.community_id"
    f" LEFT JOIN {Membership._meta.db_table} m ON m.community_id = t.community_id AND m.user_id = %s"
    f" LEFT JOIN {ReadState._meta.db_table} rs ON rs.thread_id = t.id AND rs.user_id = %s"
    " WHERE t.id = %s"
)
_LARGEST_ID = 2**63 - 1  # BigAutoField


def thread_for_reader(user, pk: int) -> tuple[Thread, ReadState | None]:
    """The thread (with ``community``) if ``user`` may read it, else 404; and their read marker, if any.

    The membership found on the way is handed to the policy's cache, so the
    permission questions the page asks cost no further query.
    """
    reader = user.pk if user.is_authenticated else None
    rows = fetch_all(_THREAD_SQL, [reader, reader, pk]) if 0 < pk <= _LARGEST_ID else []
    if not rows:
        raise Http404("No such thread.")
    row = rows[0]
    thread = _THREAD_COLUMNS.build(row)
    start = _THREAD_COLUMNS.width
    thread.community = community = _COMMUNITY_COLUMNS.build(row, start)
    start += _COMMUNITY_COLUMNS.width
    read_state = None
    if reader is not None:
        policy.remember_membership(user, community, _MEMBERSHIP_COLUMNS.build(row, start))
        read_state = _READ_STATE_COLUMNS.build(row, start + _MEMBERSHIP_COLUMNS.width)
    return policy.visible_thread_or_404(user, thread), read_state


# A page of a thread in one statement, written out: the thread page is the
# most read page of the site, and building this query through the ORM (two
# joins to people, a deferred column list, the subquery) cost 1.7 ms of CPU
# where PostgreSQL answered it in 0.2 ms. The columns are what the page
# shows: stored HTML and names, not the Markdown source, plain text or
# search vector. A deep page starts at the path an index-only walk of
# post_tree_idx finds, not at an OFFSET over full rows.
_PAGE_POST = Columns(
    Post,
    "p",
    fields=[
        "thread",
        "author",
        "parent",
        "depth",
        "path",
        "body_html",
        "created_at",
        "edit_count",
        "helpful_count",
        "state",
        "hidden_reason",
    ],
)
_PAGE_AUTHOR = Columns(User, "a", fields=[*NAME_FIELDS, "is_active"])
_PAGE_PARENT_AUTHOR = Columns(User, "qa", fields=[*NAME_FIELDS, "is_active"])
_PAGE_SELECT = (  # Table names come from the models; every value is a parameter.
    f"SELECT {_PAGE_POST.sql}, {_PAGE_AUTHOR.sql}, {_PAGE_PARENT_AUTHOR.sql},"  # noqa: S608
    # Whether the reader marked it helpful (no reader, no match): the unique
    # (post, user, kind) index answers it, so the page needs no second query.
    f" EXISTS (SELECT 1 FROM {Reaction._meta.db_table} r WHERE r.post_id = p.id AND r.user_id = %s AND r.kind = %s)"
    f" FROM {Post._meta.db_table} p LEFT JOIN {User._meta.db_table} a ON a.id = p.author_id"
    f" LEFT JOIN {Post._meta.db_table} q ON q.id = p.parent_id"
    f" LEFT JOIN {User._meta.db_table} qa ON qa.id = q.author_id"
)
_FIRST_PAGE_SQL = f"{_PAGE_SELECT} WHERE p.thread_id = %s ORDER BY p.path LIMIT %s"
_DEEP_PAGE_SQL = (
    f"{_PAGE_SELECT} WHERE p.thread_id = %s AND p.path >= (SELECT path FROM {Post._meta.db_table}"  # noqa: S608
    " WHERE thread_id = %s ORDER BY path LIMIT 1 OFFSET %s) ORDER BY p.path LIMIT %s"
)


def page_of_posts(thread: Thread, start: int, count: int, reader=None) -> list[Post]:
    """``count`` posts of ``thread`` in tree order from position ``start`` (one query).

    Each post has ``author`` (a person with the fields names need, or None),
    ``replying_to`` (the parent's author, or None) and ``reader_found_helpful``
    (whether ``reader``, a logged-in person, marked it helpful).
    """
    marks = [reader.pk if reader is not None and reader.is_authenticated else None, Reaction.Kind.HELPFUL]
    if start:
        rows = fetch_all(_DEEP_PAGE_SQL, [*marks, thread.pk, thread.pk, start, count])
    else:
        rows = fetch_all(_FIRST_PAGE_SQL, [*marks, thread.pk, count])
    people: dict = {}  # one instance per person, however many posts name them
    after_post = _PAGE_POST.width
    after_author = after_post + _PAGE_AUTHOR.width
    posts = []
    for row in rows:
        post = _PAGE_POST.build(row)
        post.thread = thread
        post.author = _PAGE_AUTHOR.build(row, after_post, seen=people)
        post.replying_to = _PAGE_PARENT_AUTHOR.build(row, after_author, seen=people)
        post.reader_found_helpful = bool(row[-1])
        posts.append(post)
    return posts


def _accepted_answer(user, thread: Thread) -> Post | None:
    """The accepted answer shown above the posts, if there is one this person may read."""
    if thread.accepted_answer_id is None:
        return None
    answer = Post.objects.select_related("author").filter(pk=thread.accepted_answer_id).first()
    if answer is None:
        return None
    answer.thread = thread
    return answer if policy.can_see_post_content(user, answer) else None


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


def decorate_posts(user, thread: Thread, posts: list[Post], *, helpful=frozenset(), read_state=None) -> None:
    """Per-post flags the template needs, decided by policy (no queries: membership is cached)."""
    previous = None
    for post in posts:
        post.thread = thread
        if "replying_to" not in post.__dict__:  # page_of_posts sets it; others select parent__author
            post.replying_to = post.parent.author if post.parent_id else None
        post.show_content = policy.can_see_post_content(user, post)
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
        post.is_unread = bool(
            read_state is not None and post.created_at > read_state.last_read_at and post.author_id != user.pk
        )
        post.is_accepted = thread.accepted_answer_id == post.pk
        previous = post
    _link_posts(thread, posts)


def permalink(request: HttpRequest, pk: int) -> HttpResponse:
    """/p/<id>/ → the thread page that holds the post, scrolled to it."""
    post = Post.objects.select_related("thread__community").filter(pk=pk).first()
    if post is None or not policy.can_view_thread(request.user, post.thread):
        raise Http404("No such post.")
    return redirect(post_url(post))


def post_url(post: Post) -> str:
    before = Post.objects.filter(thread_id=post.thread_id, path__lt=post.path).count()
    page = before // settings.POSTS_PER_PAGE + 1
    query = f"?page={page}" if page > 1 else ""
    return f"{post.thread.get_absolute_url()}{query}#post-{post.pk}"


def first_unread(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    thread = policy.get_thread_or_404(request.user, Thread.objects.all(), pk)
    state = (
        ReadState.objects.filter(user=request.user, thread=thread).first() if request.user.is_authenticated else None
    )
    posts = Post.objects.filter(thread=thread).select_related("thread__community")
    if state is not None:
        posts = posts.filter(created_at__gt=state.last_read_at)
    target = posts.order_by("created_at").first()
    if target is None:
        return redirect(thread.get_absolute_url())
    return redirect(post_url(target))


def rate_limited(request: HttpRequest) -> ratelimit.Refusal | None:
    """Posting limit for the person (stricter for accounts younger than a day) and their address."""
    young = request.user.date_joined > timezone.now() - timedelta(days=1)
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
    form = ThreadForm(request.POST or None)
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
            data = form.cleaned_data
            thread = services.start_thread(
                request.user,
                community,
                title=data["title"],
                body=data["body"],
                kind=data["kind"],
                tags=data["tags"],
                submission_key=data["submission_key"],
                rendered=form.rendered,
                suspected_spam=spam.suspected(request, f"{data['title']}\n\n{data['body']}"),
            )
            messages.success(request, HELD_MESSAGE if thread.held_at else "Your thread is posted.")
            return redirect(thread)
    response = render(
        request,
        "discussions/new_thread.html",
        {"community": community, "form": form, "preview": preview},
        status=status,
    )
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def reply(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
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
    context = {"thread": thread, "community": thread.community, "parent": parent, "quote": quote, "form": form}
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
                    return _new_post_fragment(request, thread, post)
                messages.success(request, HELD_MESSAGE if post.is_held else "Your reply is posted.")
                return redirect(post_url(post))
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
        parent = Post.objects.select_related("author").filter(pk=int(parent_id)).first()
    except (TypeError, ValueError):
        raise Http404("No such post.") from None
    if parent is None or parent.thread_id != thread.pk:
        raise Http404("No such post.")
    parent.thread = thread
    return parent


def _new_post_fragment(request: HttpRequest, thread: Thread, post: Post) -> HttpResponse:
    post = Post.objects.select_related("author", "parent__author").get(pk=post.pk)
    decorate_posts(request.user, thread, [post])
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
