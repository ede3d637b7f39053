"""Writes for threads and posts: each one transaction with counters, ledger, audit and notifications.

Views validate input, ask ``communities.policy``, then call exactly one of
these. A reply locks its thread row first, so concurrent replies take turns:
materialized paths and post numbers stay unique, ``reply_count``,
``highest_post_number`` and ``last_activity_at`` exact.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Literal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from accounts.models import User, Viewer
from communities import audit, ledger, policy
from communities.models import Activity, Community, Subgroup, WatchLevel
from core import pagecache
from core.db import one_or_none
from core.mail import one_line
from core.markup import MAX_THREAD_LINKS, RENDER_VERSION, MarkupError, Rendered, render
from core.refusals import Refused
from core.search import update_vector
from discussions import signals
from discussions.models import (
    MAX_SIBLINGS,
    THREAD_LEVELS,
    Flag,
    Post,
    Reaction,
    ReadState,
    Revision,
    Thread,
    ThreadWatch,
    path_segment,
)
from discussions.reading import Position

MAX_TAGS = 8
_MENTION_CANDIDATE = re.compile(r"(?<![\w@])@([A-Za-z0-9_.+\-]{1,150})")
# "#123" the way core.markup reads it; a superset is fine (code, links), since it only bounds a lookup.
_THREAD_CANDIDATE = re.compile(r"(?<![\w&])#([0-9]{1,18})(?!\w)")
# Links that lead off the site (mentions are relative links and don't count).
_OUTSIDE_LINK = re.compile(r"<a\s[^>]*href=\"(?:https?:|mailto:)", re.IGNORECASE)
HOLD_REASON = "Waiting for a facilitator to review it."


class DiscussionError(Refused):
    """An action that can't happen; the message is shown to the person."""


@dataclass(frozen=True)
class ReactionResult:
    reacted: bool
    count: int


# --- Rendering --------------------------------------------------------------------


def render_post(source: str) -> Rendered:
    """Markdown → sanitized HTML, plain text and the @mentions that name real people; "#123" links existing threads."""
    candidates = {name.rstrip(".").lower() for name in _MENTION_CANDIDATE.findall(source)}
    known: dict[str, str] = {}
    if candidates:
        rows = (
            User.objects.annotate(lower=Lower("username"))
            .filter(lower__in=candidates, is_active=True)
            .values_list("lower", "username")
        )
        known = {lower: reverse("accounts:profile", kwargs={"username": name}) for lower, name in rows}
    return render(
        source,
        mention_url=lambda name: known.get(name.lower()),
        thread_url=_thread_urls(source).get,
    )


def _thread_urls(source: str) -> dict[int, str]:
    """URLs of the threads a text names as "#123", in one query.

    The link text stays "#123", so no title leaks; only threads of public
    communities are linked, since the URL names the community and a post
    is rendered once for every reader.
    """
    # In order of appearance: core.markup links the first MAX_THREAD_LINKS distinct numbers.
    numbers = list(dict.fromkeys(int(n) for n in _THREAD_CANDIDATE.findall(source)))[: MAX_THREAD_LINKS * 2]
    if not numbers:
        return {}
    rows = Thread.objects.filter(
        pk__in=numbers, community__visibility=Community.Visibility.OPEN, subgroup__isnull=True
    ).values_list("pk", "community__slug")
    return {pk: reverse("discussions:thread", kwargs={"slug": slug, "pk": pk}) for pk, slug in rows}


def _apply_render(post: Post, rendered: Rendered) -> None:
    post.body_html, post.body_text, post.render_version = rendered.html, rendered.text, RENDER_VERSION


# --- Telling people --------------------------------------------------------------------


def _notify(post: Post, actor: User, mentions: tuple[str, ...], *, reply_to: Post | None, new: bool = True) -> None:
    """Published: apps above (notifications) tell the people mentioned, the one replied to and, for a
    ``new`` post (not an edit), those watching the thread or its community, in this transaction."""
    signals.post_published.send(Post, post=post, actor=actor, mentions=mentions, reply_to=reply_to, new=new)


def _describe(post: Post) -> str:
    return f"post #{post.pk} in “{post.thread.title}”"


# --- Review before publishing ------------------------------------------------------------


def outside_links(html: str) -> int:
    """How many links in rendered HTML lead off the site."""
    return len(_OUTSIDE_LINK.findall(html))


def needs_review(author: User, community: Community, rendered: Rendered, *, suspected_spam: bool = False) -> bool:
    """Hold suspected spam, and link-heavy posts from people new to this community.

    Link spam arrives from fresh accounts; a member with a few visible posts
    here has shown they are a person. Facilitators are never held.
    """
    if policy.can_moderate(author, community):
        return False
    if suspected_spam:
        return True
    if outside_links(rendered.html) <= settings.HOLD_LINK_LIMIT:
        return False
    needed = settings.HOLD_NEW_MEMBER_POSTS
    shown = Post.objects.filter(author=author, thread__community=community, state=Post.State.VISIBLE)
    return shown[:needed].count() < needed


def _hold(post: Post, at: datetime) -> None:
    """Held: only its author and the facilitators see it; search, digests, feeds, reactions and flags pass it by."""
    post.set_state(Post.State.HELD, at)
    post.hidden_reason = HOLD_REASON


# --- Threads and replies ----------------------------------------------------------------


def _existing_submission(author: User, submission_key: str) -> Post | None:
    if not submission_key:
        return None
    return Post.objects.select_related("thread").filter(author=author, submission_key=submission_key).first()


def start_thread(
    author: User,
    community: Community,
    *,
    title: str,
    body: str,
    kind: str = Thread.Kind.DISCUSSION,
    tags: list[str] | None = None,
    submission_key: str = "",
    rendered: Rendered | None = None,
    suspected_spam: bool = False,
    subgroup: Subgroup | None = None,
) -> Thread:
    """Start a thread (in ``subgroup``, read by its members and the facilitators, if given); held for
    review (seen by its author and facilitators only) if ``needs_review``."""
    if not policy.can_start_thread(author, community):
        raise DiscussionError("Only members can start threads here.")
    if subgroup is not None:
        if subgroup.community_id != community.pk:
            raise DiscussionError("That subgroup is not in this community.")
        subgroup.community = community  # the page's own, already loaded
        if not policy.can_post_in_subgroup(author, subgroup):
            raise DiscussionError("Only the subgroup's members can start threads in it.")
    previous = _existing_submission(author, submission_key)
    if previous is not None:
        return previous.thread
    rendered = rendered or render_post(body)  # MarkupError reaches the form before any write
    held = needs_review(author, community, rendered, suspected_spam=suspected_spam)
    now = timezone.now()
    try:
        with transaction.atomic():
            thread = Thread.objects.create(
                community=community,
                title=one_line(title, 200),
                kind=kind,
                author=author,
                created_at=now,
                last_activity_at=now,
                last_poster=author,
                held_at=now if held else None,
                highest_post_number=1,
                subgroup=subgroup,
            )
            post = Post(thread=thread, author=author, depth=0, path="", number=1, body=body, created_at=now)
            post.submission_key = submission_key
            _apply_render(post, rendered)
            if held:
                _hold(post, now)
            post.save()
            thread.opening_post = post
            thread.save(update_fields=["opening_post"])
            # The author has read what they wrote: their own thread is not "new" to them.
            ReadState.objects.create(user=author, thread=thread, last_read_post_number=1, last_read_at=now)
            _track(author, thread, ThreadWatch.Reason.CREATED)
            pagecache.touched(community)
            if tags:
                thread.tags.set(tags[:MAX_TAGS])
            if not held:  # a held thread is indexed, counted and announced when approved
                update_vector(Thread.objects.filter(pk=thread.pk), {"A": thread.title, "B": rendered.text})
                ledger.record(author, community, Activity.Kind.THREAD, at=now, post=post)
                _notify(post, author, rendered.mentions, reply_to=None)
            else:
                signals.post_held.send(Post, post=post)
    except IntegrityError:
        previous = _existing_submission(author, submission_key)
        if previous is None:
            raise
        return previous.thread
    return thread


def reply(
    author: User,
    thread: Thread,
    body: str,
    *,
    parent: Post | None = None,
    submission_key: str = "",
    rendered: Rendered | None = None,
    suspected_spam: bool = False,
) -> Post:
    """Add a reply under ``parent`` (default: the opening post) and return it, held if ``needs_review``."""
    previous = _existing_submission(author, submission_key)
    if previous is not None:
        return previous
    rendered = rendered or render_post(body)
    held = needs_review(author, thread.community, rendered, suspected_spam=suspected_spam)
    try:
        with transaction.atomic():
            post = _reply_locked(author, thread, body, rendered, parent, submission_key, held=held)
    except IntegrityError:
        previous = _existing_submission(author, submission_key)
        if previous is None:
            raise
        return previous
    return post


def _reply_locked(
    author: User, thread: Thread, body: str, rendered: Rendered, parent: Post | None, key: str, *, held: bool = False
) -> Post:
    # The thread row lock orders concurrent replies; checks run on fresh rows.
    thread = Thread.objects.select_for_update(of=("self",)).select_related("community").get(pk=thread.pk)
    if not policy.can_reply(author, thread):
        if thread.locked_at is not None and policy.can_post(author, thread.community):
            raise DiscussionError("This thread is locked: it takes no new replies.")
        raise DiscussionError("Only members can reply here.")
    parent_id = parent.pk if parent is not None else thread.opening_post_id
    parent = Post.objects.select_related("author").filter(pk=parent_id).first() if parent_id is not None else None
    if parent is None or parent.thread_id != thread.pk:
        raise DiscussionError("The post you are replying to is not in this thread.")
    if parent.is_deleted:
        raise DiscussionError("The post you are replying to has been deleted.")
    if parent.is_hidden and not policy.can_moderate(author, thread.community):
        raise DiscussionError("The post you are replying to has been hidden by a facilitator.")
    if parent.child_count >= MAX_SIBLINGS:
        raise DiscussionError("This post has too many replies; reply to the thread instead.")
    index = parent.child_count + 1
    # The next number, read from the locked row: concurrent replies wait for this one's commit.
    number = thread.highest_post_number + 1
    pagecache.touched(thread.community)
    Post.objects.filter(pk=parent.pk).update(child_count=F("child_count") + 1)
    now = timezone.now()
    post = Post(
        thread=thread,
        author=author,
        by_guest=policy.posts_as_guest(author, thread),
        parent=parent,
        depth=parent.depth + 1,
        path=parent.path + path_segment(index),
        number=number,
        body=body,
        created_at=now,
        submission_key=key,
    )
    _apply_render(post, rendered)
    _track(author, thread, ThreadWatch.Reason.REPLIED)
    if held:
        _hold(post, now)
        post.save()
        # Counted (pages are numbered by reply_count) but not yet news: no activity, no notifications
        # but the facilitators' (it waits for them).
        Thread.objects.filter(pk=thread.pk).update(
            reply_count=F("reply_count") + 1, highest_post_number=F("highest_post_number") + 1
        )
        signals.post_held.send(Post, post=post)
        return post
    post.save()
    update_vector(Post.objects.filter(pk=post.pk), {"B": rendered.text})
    Thread.objects.filter(pk=thread.pk).update(
        reply_count=F("reply_count") + 1,
        highest_post_number=F("highest_post_number") + 1,
        last_activity_at=now,
        last_poster=author,
    )
    ledger.record(author, thread.community, Activity.Kind.REPLY, at=now, post=post)
    _notify(post, author, rendered.mentions, reply_to=parent)
    return post


# --- Editing and deleting ------------------------------------------------------------------


@transaction.atomic
def edit_post(
    editor: User, post: Post, body: str, *, title: str | None = None, rendered: Rendered | None = None
) -> Post:
    post = Post.objects.select_for_update(of=("self",)).select_related("thread__community").get(pk=post.pk)
    if not policy.can_edit_post(editor, post):
        raise DiscussionError("You can't edit this post.")
    thread = post.thread
    new_title = one_line(title, 200) if title is not None and post.is_opening else thread.title
    if body == post.body and new_title == thread.title:
        return post
    rendered = rendered or render_post(body)
    # An edit that adds links off the site is held like a new post with them would be:
    # otherwise a harmless first post could be turned into link spam afterwards.
    held = (
        not post.is_hidden
        and outside_links(rendered.html) > outside_links(post.body_html)
        and needs_review(editor, thread.community, rendered)
    )
    Revision.objects.create(post=post, editor=editor, body=post.body, title=thread.title if post.is_opening else "")
    pagecache.touched(thread.community)
    post.body = body
    _apply_render(post, rendered)
    now = timezone.now()
    post.edited_at, post.edit_count = now, post.edit_count + 1
    fields = ["body", "body_html", "body_text", "render_version", "edited_at", "edit_count"]
    if held:
        _hold(post, now)
        fields += ["state", "state_changed_at", "hidden_reason"]
    post.save(update_fields=fields)
    if new_title != thread.title:
        Thread.objects.filter(pk=thread.pk).update(title=new_title)
        thread.title = new_title
    if held:  # out of search until approved (approve_post indexes it and sends its mentions)
        _reindex_after_visibility_change(post, visible=False)
        signals.post_held.send(Post, post=post)
    elif post.is_opening:
        update_vector(Thread.objects.filter(pk=thread.pk), {"A": thread.title, "B": rendered.text})
    else:
        update_vector(Post.objects.filter(pk=post.pk), {"B": rendered.text})
    if editor.pk != post.author_id:
        audit.record(thread.community, editor, "post.edit", detail=_describe(post), target_user=post.author)
    if not held:
        _notify(post, editor, rendered.mentions, reply_to=None, new=False)
    return post


@transaction.atomic
def delete_post(actor: User, post: Post) -> Post:
    """Tombstone: the tree stays intact; the content stays for facilitators for 30 days."""
    post = Post.objects.select_for_update(of=("self",)).select_related("thread__community").get(pk=post.pk)
    if not policy.can_delete_post(actor, post):
        raise DiscussionError("You can't delete this post.")
    post.set_state(Post.State.DELETED)
    post.save(update_fields=["state", "state_changed_at"])
    pagecache.touched(post.thread.community)
    thread = post.thread
    _reindex_after_visibility_change(post, visible=False)
    if thread.accepted_answer_id == post.pk:
        Thread.objects.filter(pk=thread.pk).update(accepted_answer=None)
    action = "post.delete" if actor.pk == post.author_id else "post.delete_by_moderator"
    audit.record(thread.community, actor, action, detail=_describe(post), target_user=post.author)
    return post


def _reindex_after_visibility_change(post: Post, *, visible: bool) -> None:
    """Hidden or deleted text leaves the search index; unhidden text returns."""
    text = post.body_text if visible else ""
    if post.is_opening:
        update_vector(Thread.objects.filter(pk=post.thread_id), {"A": post.thread.title, "B": text})
    else:
        update_vector(Post.objects.filter(pk=post.pk), {"B": text})


def purge_deleted_content(now: datetime | None = None) -> int:
    """Blank the content of posts deleted more than DELETED_CONTENT_DAYS ago (and their revisions)."""
    cutoff = (now or timezone.now()) - timedelta(days=policy.DELETED_CONTENT_DAYS)
    deleted = Post.objects.filter(state=Post.State.DELETED, state_changed_at__lt=cutoff)
    ids = list(deleted.exclude(body="").values_list("pk", flat=True)[:5000])
    with transaction.atomic():
        Revision.objects.filter(post_id__in=ids).delete()
        Post.objects.filter(pk__in=ids).update(body="", body_html="", body_text="")
    return len(ids)


# --- Value: reactions, accepted answers, read state ----------------------------------------


@transaction.atomic
def toggle_helpful(user: User, post: Post) -> ReactionResult:
    post = Post.objects.select_for_update(of=("self",)).select_related("thread__community").get(pk=post.pk)
    if not policy.can_react(user, post):
        raise DiscussionError("You can't mark this post as helpful.")
    pagecache.touched(post.thread.community)
    deleted, _ = Reaction.objects.filter(post=post, user=user, kind=Reaction.Kind.HELPFUL).delete()
    if deleted:
        Post.objects.filter(pk=post.pk).update(helpful_count=F("helpful_count") - deleted)
        return ReactionResult(False, post.helpful_count - deleted)
    Reaction.objects.create(post=post, user=user, kind=Reaction.Kind.HELPFUL)
    Post.objects.filter(pk=post.pk).update(helpful_count=F("helpful_count") + 1)
    ledger.record(user, post.thread.community, Activity.Kind.REACTION)
    signals.post_reacted.send(Post, post=post, actor=user)
    return ReactionResult(True, post.helpful_count + 1)


@transaction.atomic
def accept_answer(actor: User, thread: Thread, post: Post | None) -> Thread:
    thread = Thread.objects.select_for_update(of=("self",)).select_related("community").get(pk=thread.pk)
    if not policy.can_accept_answer(actor, thread):
        raise DiscussionError("Only the person who asked, or a facilitator, can accept an answer.")
    if post is not None:
        if post.thread_id != thread.pk or post.is_opening:
            raise DiscussionError("Choose a reply in this thread as the answer.")
        if post.is_deleted or post.is_hidden:
            raise DiscussionError("A deleted or hidden post can't be the accepted answer.")
    thread.accepted_answer = post
    thread.save(update_fields=["accepted_answer"])
    pagecache.touched(thread.community)
    if post is not None:
        signals.answer_accepted.send(Post, post=post, actor=actor)
    return thread


class _Look(Enum):
    UP = "look it up"


# ``mark_read(..., state=LOOK_UP)``: the caller has not read the member's ReadState; mark_read reads it.
LOOK_UP: Literal[_Look.UP] = _Look.UP
# Attempts to move a position another request moved at the same moment, before giving up
# (this page's posts then stay unread: shown as new again, never skipped).
_MARK_ATTEMPTS = 3


def mark_read(
    user: Viewer,
    thread: Thread,
    numbers: Collection[int] | None = None,
    *,
    state: ReadState | Literal[_Look.UP] | None = LOOK_UP,
) -> None:
    """Remember that ``user`` was shown the posts numbered ``numbers`` of ``thread`` (None: all of it, to its end).

    ``state`` is the member's ReadState as the page read it (None: they had
    none), or ``LOOK_UP``. Nothing new costs no write; otherwise one statement:
    an UPDATE that applies only if nobody moved the position since it was read
    (else it is read again and merged, so two pages loaded at once both count),
    or an INSERT for a first visit. A position never moves backwards.
    No-op for anonymous visitors.
    """
    if not user.is_authenticated:
        return
    for _attempt in range(_MARK_ATTEMPTS):
        if state is LOOK_UP:
            state = one_or_none(ReadState.objects.filter(user=user, thread=thread))
        old = state.position if state is not None else Position()
        new = old.with_upto(thread.highest_post_number) if numbers is None else old.with_shown(numbers)
        if new == old:
            return
        now = timezone.now()
        if state is None:
            # INSERT … ON CONFLICT DO NOTHING: a first visit racing another first visit of the same
            # person keeps the one that came first; the other page's posts stay unread.
            ReadState.objects.bulk_create(
                [
                    ReadState(
                        user=user,
                        thread=thread,
                        last_read_post_number=new.upto,
                        read_beyond=new.as_json(),
                        last_read_at=now,
                    )
                ],
                ignore_conflicts=True,
            )
            return
        moved = ReadState.objects.filter(
            pk=state.pk, last_read_post_number=state.last_read_post_number, last_read_at=state.last_read_at
        ).update(last_read_post_number=new.upto, read_beyond=new.as_json(), last_read_at=now)
        if moved:
            return
        state = LOOK_UP


# --- Watching levels ------------------------------------------------------------------------


class WatchError(Refused):
    """A watching level that can't be set; the message is shown to the person."""


def _track(user: User, thread: Thread, reason: str) -> None:
    """Someone who starts a thread or replies in it tracks it, unless they already have a level for it.

    INSERT … ON CONFLICT DO NOTHING: a level set before (by hand, or when they
    started the thread) stays as it is.
    """
    ThreadWatch.objects.bulk_create(
        [ThreadWatch(user=user, thread=thread, level=WatchLevel.TRACKING, reason=reason)], ignore_conflicts=True
    )


def set_thread_level(user: User, thread: Thread, level: str) -> ThreadWatch:
    """``user`` chooses how closely to follow ``thread``: a level set by hand, which no default overrides."""
    if level not in THREAD_LEVELS:
        raise WatchError("Choose one of the watching levels.")
    if not (policy.can_view_thread(user, thread) and policy.can_watch(user, thread.community)):
        raise WatchError("Only members can choose how closely they follow a thread.")
    # One upsert: a double click or two tabs end with the last choice, never an error.
    chosen = ThreadWatch(user=user, thread=thread, level=level, reason=ThreadWatch.Reason.BY_HAND)
    ThreadWatch.objects.bulk_create(
        [chosen],
        update_conflicts=True,
        unique_fields=["user", "thread"],
        update_fields=["level", "reason", "updated_at"],
    )
    return ThreadWatch.objects.get(user=user, thread=thread)


# --- Flags and moderation ----------------------------------------------------------------


def flag_post(user: User, post: Post, reason: str) -> Flag:
    if not policy.can_flag(user, post):
        raise DiscussionError("You can't flag this post.")
    reason = one_line(reason, 500)
    if not reason:
        raise DiscussionError("Say briefly what is wrong with the post.")
    with transaction.atomic():
        try:
            with transaction.atomic():
                flag = Flag.objects.create(post=post, user=user, reason=reason)
        except IntegrityError:
            raise DiscussionError("You have already flagged this post; a facilitator will review it.") from None
        # The facilitators are told in the same transaction (notifications).
        signals.post_flagged.send(Post, post=post, actor=user, reason=reason)
    return flag


@transaction.atomic
def hide_post(actor: User, post: Post, reason: str) -> Post:
    post = Post.objects.select_for_update(of=("self",)).select_related("thread__community", "author").get(pk=post.pk)
    if not policy.can_moderate(actor, post.thread.community):
        raise DiscussionError("Only facilitators can hide posts.")
    reason = one_line(reason, 500)
    if not reason:
        raise DiscussionError("Give a reason: the author will see it.")
    if post.is_deleted:
        raise DiscussionError("This post is deleted already.")
    post.set_state(Post.State.HIDDEN)  # a held post hidden instead: decided, it leaves the review queue
    post.hidden_by, post.hidden_reason = actor, reason
    post.save(update_fields=["state", "state_changed_at", "hidden_by", "hidden_reason"])
    pagecache.touched(post.thread.community)
    _reindex_after_visibility_change(post, visible=False)
    Flag.objects.filter(post=post, resolved_at__isnull=True).update(
        resolved_at=timezone.now(), resolved_by=actor, resolution="hidden"
    )
    if post.thread.accepted_answer_id == post.pk:
        Thread.objects.filter(pk=post.thread_id).update(accepted_answer=None)
    audit.record(
        post.thread.community, actor, "post.hide", detail=f"{_describe(post)}: {reason}", target_user=post.author
    )
    signals.post_hidden.send(Post, post=post, actor=actor)
    return post


@transaction.atomic
def unhide_post(actor: User, post: Post) -> Post:
    post = Post.objects.select_for_update(of=("self",)).select_related("thread__community").get(pk=post.pk)
    if not policy.can_moderate(actor, post.thread.community):
        raise DiscussionError("Only facilitators can unhide posts.")
    if post.is_held:
        return approve_post(actor, post)
    if post.state != Post.State.HIDDEN:
        raise DiscussionError("This post is not hidden.")
    post.set_state(Post.State.VISIBLE)
    post.hidden_by, post.hidden_reason = None, ""
    post.save(update_fields=["state", "state_changed_at", "hidden_by", "hidden_reason"])
    pagecache.touched(post.thread.community)
    if post.is_opening:  # a thread whose held opening post was turned down, now shown after all
        Thread.objects.filter(pk=post.thread_id).update(held_at=None)
    _reindex_after_visibility_change(post, visible=True)
    audit.record(post.thread.community, actor, "post.unhide", detail=_describe(post), target_user=post.author)
    return post


@transaction.atomic
def approve_post(actor: User, post: Post) -> Post:
    """Publish a held post: it appears, is indexed and counted, and its notifications go out now."""
    post = (
        Post.objects.select_for_update(of=("self",))
        .select_related("thread__community", "author", "parent__author")
        .get(pk=post.pk)
    )
    thread, community = post.thread, post.thread.community
    if not policy.can_moderate(actor, community):
        raise DiscussionError("Only facilitators can review held posts.")
    if not post.is_held:
        raise DiscussionError("This post is no longer waiting for review.")
    post.set_state(Post.State.VISIBLE)
    post.hidden_by, post.hidden_reason = None, ""
    post.save(update_fields=["state", "state_changed_at", "hidden_by", "hidden_reason"])
    pagecache.touched(community)
    now = timezone.now()
    if post.is_opening:
        Thread.objects.filter(pk=thread.pk).update(held_at=None, last_activity_at=now)
        kind = Activity.Kind.THREAD
    else:
        Thread.objects.filter(pk=thread.pk).update(last_activity_at=now, last_poster=post.author)
        kind = Activity.Kind.REPLY
    _reindex_after_visibility_change(post, visible=True)
    if post.author is not None:
        ledger.record(post.author, community, kind, at=now, post=post)
        _notify(post, post.author, render_post(post.body).mentions, reply_to=post.parent)
    audit.record(community, actor, "post.approve", detail=_describe(post), target_user=post.author)
    signals.post_reviewed.send(Post, post=post, actor=actor)
    return post


@transaction.atomic
def reject_post(actor: User, post: Post, reason: str = "") -> Post:
    """Turn a held post down: it stays hidden (a held thread stays invisible) and its author sees why."""
    post = Post.objects.select_for_update(of=("self",)).select_related("thread__community").get(pk=post.pk)
    community = post.thread.community
    if not policy.can_moderate(actor, community):
        raise DiscussionError("Only facilitators can review held posts.")
    if not post.is_held:
        raise DiscussionError("This post is no longer waiting for review.")
    post.set_state(Post.State.HIDDEN)
    post.hidden_by = actor
    post.hidden_reason = one_line(reason, 500) or "Not approved by a facilitator."
    post.save(update_fields=["state", "state_changed_at", "hidden_by", "hidden_reason"])
    audit.record(
        community, actor, "post.reject", detail=f"{_describe(post)}: {post.hidden_reason}", target_user=post.author
    )
    signals.post_hidden.send(Post, post=post, actor=actor)
    return post


@transaction.atomic
def dismiss_flags(actor: User, post: Post) -> int:
    if not policy.can_moderate(actor, post.thread.community):
        raise DiscussionError("Only facilitators can review flags.")
    count = Flag.objects.filter(post=post, resolved_at__isnull=True).update(
        resolved_at=timezone.now(), resolved_by=actor, resolution="dismissed"
    )
    audit.record(post.thread.community, actor, "flag.dismiss", detail=_describe(post), target_user=post.author)
    signals.post_reviewed.send(Post, post=post, actor=actor)
    return count


@transaction.atomic
def set_thread_state(actor: User, thread: Thread, action: str, reason: str = "") -> Thread:
    """pin / unpin / lock / unlock; good_first_reply / not_good_first_reply (questions: newcomers' ways to start)."""
    thread = Thread.objects.select_for_update(of=("self",)).select_related("community").get(pk=thread.pk)
    if not policy.can_moderate_thread(actor, thread):
        raise DiscussionError("Only facilitators can do that.")
    now = timezone.now()
    changes: dict[str, dict[str, Any]] = {
        "pin": {"pinned_at": now, "pinned": True},
        "unpin": {"pinned_at": None, "pinned": False},
        "lock": {"locked_at": now},
        "unlock": {"locked_at": None},
        "good_first_reply": {"good_first_reply": True},
        "not_good_first_reply": {"good_first_reply": False},
    }
    if action not in changes:
        raise DiscussionError("Unknown action.")
    if action == "good_first_reply" and thread.kind != Thread.Kind.QUESTION:
        raise DiscussionError("Only a question can be marked as a good first reply.")
    for field, value in changes[action].items():
        setattr(thread, field, value)
    thread.save(update_fields=list(changes[action]))
    pagecache.touched(thread.community)
    detail = f"thread “{thread.title}”" + (f": {one_line(reason, 300)}" if reason else "")
    audit.record(thread.community, actor, f"thread.{action}", detail=detail)
    return thread


@transaction.atomic
def move_thread(actor: User, thread: Thread, target: Community, *, exposure: str = "") -> Thread:
    """Move ``thread`` to ``target``; ``exposure``: what the person confirmed its new readers would see
    (when ``target`` is more open than where it was), kept in the audit entries."""
    thread = Thread.objects.select_for_update(of=("self",)).select_related("community").get(pk=thread.pk)
    if not policy.can_move_thread(actor, thread, target):
        raise DiscussionError("You can only move threads between communities you facilitate.")
    source = thread.community
    thread.community = target
    thread.save(update_fields=["community"])
    pagecache.touched(source, target)
    detail = f"thread “{thread.title}” from {source.name} to {target.name}" + (f"; {exposure}" if exposure else "")
    audit.record(source, actor, "thread.move", detail=detail)
    audit.record(target, actor, "thread.move", detail=detail)
    return thread


__all__ = [
    "DiscussionError",
    "MarkupError",
    "accept_answer",
    "approve_post",
    "delete_post",
    "dismiss_flags",
    "edit_post",
    "flag_post",
    "hide_post",
    "mark_read",
    "move_thread",
    "needs_review",
    "purge_deleted_content",
    "reject_post",
    "reply",
    "set_thread_level",
    "set_thread_state",
    "start_thread",
    "toggle_helpful",
    "unhide_post",
]
