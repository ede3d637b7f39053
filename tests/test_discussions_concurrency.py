"""Many writes to one thread or post at once (concurrent replies,
D-concurrent-nested, D-reaction-race; (a) A-double-submit), on the real PostgreSQL.

Each call runs in its own thread with its own database connection, all
released together by one barrier; every thread closes its connection when
done. "Nothing lost": every post is in the tree with a unique path, the
counters equal the rows, and nobody got an exception.
"""

from __future__ import annotations

import copy

import pytest
from django.http import HttpResponseBase
from django.test import Client

from communities.models import Activity, Membership
from discussions import services
from discussions.models import Post, Reaction, Thread, path_segment
from notifications.models import Notification
from tests.concurrency import run_together

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def members(world, make_user):
    """Thirty more active members of the public community."""
    people = [make_user(f"m{i:02d}") for i in range(30)]
    Membership.objects.bulk_create([Membership(user=p, community=world.public) for p in people])
    return people


@pytest.fixture
def relaxed_limits(settings):
    settings.POST_RATE_LIMIT = settings.NEW_ACCOUNT_POST_RATE_LIMIT = "1000/60"


def _assert_no_errors(results, kind) -> None:
    errors = [r for r in results if not isinstance(r, kind)]
    assert not errors, errors


def _assert_thread_consistent(thread: Thread) -> None:
    """Counters and the tree agree with the rows."""
    thread.refresh_from_db()
    posts = list(Post.objects.filter(thread=thread).order_by("path"))
    assert thread.reply_count == len(posts) - 1
    assert len({p.path for p in posts}) == len(posts)
    # Post numbers: 1..n without a gap or a twin, in the order the posts were written.
    assert thread.highest_post_number == len(posts)
    assert [p.number for p in sorted(posts, key=lambda p: (p.created_at, p.pk))] == list(range(1, len(posts) + 1))
    newest = max(posts, key=lambda p: (p.created_at, p.pk))
    assert thread.last_activity_at == newest.created_at
    assert thread.last_poster_id == newest.author_id
    for post in posts:
        children = [p for p in posts if p.parent_id == post.pk]
        assert post.child_count == len(children), post
        # Siblings are numbered 1..n without gaps, in the order they were written.
        assert sorted(p.path for p in children) == [post.path + path_segment(i) for i in range(1, len(children) + 1)]
        assert [p.pk for p in sorted(children, key=lambda p: p.path)] == sorted(p.pk for p in children)


def test_twenty_replies_at_once_to_one_thread(world, conversation, members):
    thread = conversation.thread
    before = Post.objects.filter(thread=thread).count()
    writers = members[:20]
    results = run_together(
        *[lambda u=u, i=i: services.reply(u, thread, f"Concurrent reply {i}") for i, u in enumerate(writers)]
    )
    _assert_no_errors(results, Post)
    assert Post.objects.filter(thread=thread).count() == before + 20
    assert sorted(p.author_id for p in results) == sorted(u.pk for u in writers)
    assert Thread.objects.get(pk=thread.pk).reply_count == thread.reply_count + 20
    new_paths = sorted(Post.objects.filter(body__startswith="Concurrent reply").values_list("path", flat=True))
    # The opening post already had one child (the answer, 000001).
    assert new_paths == [path_segment(i) for i in range(2, 22)]
    assert Activity.objects.filter(kind=Activity.Kind.REPLY, community=world.public).count() == 2 + 20
    _assert_thread_consistent(thread)


def test_twenty_replies_at_once_to_the_same_parent(world, conversation, members):
    thread = conversation.thread
    parent = services.reply(world.facilitator, thread, "A question everyone answers")
    results = run_together(
        *[lambda u=u, i=i: services.reply(u, thread, f"Sibling {i}", parent=parent) for i, u in enumerate(members[:20])]
    )
    _assert_no_errors(results, Post)
    siblings = list(Post.objects.filter(parent=parent).order_by("path"))
    assert [p.path for p in siblings] == [parent.path + path_segment(i) for i in range(1, 21)]
    assert all(p.depth == parent.depth + 1 for p in siblings)
    # Stable order: path order is the order of writing (ids and times), so a re-read never reshuffles.
    assert [p.pk for p in siblings] == sorted(p.pk for p in siblings)
    assert [p.created_at for p in siblings] == sorted(p.created_at for p in siblings)
    assert Post.objects.get(pk=parent.pk).child_count == 20
    # Each sibling notified the parent's author once.
    assert Notification.objects.filter(user=world.facilitator, kind="reply", post__parent=parent).count() == 20
    _assert_thread_consistent(thread)


def test_one_person_toggling_helpful_ten_times_at_once(world, conversation):
    post = conversation.answer
    results = run_together(*[lambda: services.toggle_helpful(world.member, post) for _ in range(10)])
    _assert_no_errors(results, services.ReactionResult)
    rows = Reaction.objects.filter(post=post, user=world.member).count()
    assert rows in (0, 1)
    assert Post.objects.get(pk=post.pk).helpful_count == rows == Reaction.objects.filter(post=post).count()
    # The toggles took turns: each one saw the previous one's result.
    assert sum(1 if r.reacted else -1 for r in results) == rows
    assert sorted(r.count for r in results) == sorted([0, 1] * 5)


def test_thirty_people_marking_one_post_helpful_at_once(world, conversation, members):
    post = conversation.answer
    results = run_together(*[lambda u=u: services.toggle_helpful(u, post) for u in members])
    _assert_no_errors(results, services.ReactionResult)
    assert all(r.reacted for r in results)
    assert sorted(r.count for r in results) == list(range(1, 31))
    assert Reaction.objects.filter(post=post).count() == 30 == Post.objects.get(pk=post.pk).helpful_count
    assert Activity.objects.filter(kind=Activity.Kind.REACTION).count() == 30


def test_the_same_reply_submitted_twice_at_once_makes_one_post(world, conversation):
    thread = conversation.thread
    opening_children = Post.objects.get(pk=conversation.opening.pk).child_count
    results = run_together(
        *[lambda: services.reply(world.facilitator, thread, "Said once", submission_key="same-key") for _ in range(4)]
    )
    _assert_no_errors(results, Post)
    assert len({r.pk for r in results}) == 1
    assert Post.objects.filter(body="Said once").count() == 1
    assert Thread.objects.get(pk=thread.pk).reply_count == thread.reply_count + 1
    assert Post.objects.get(pk=conversation.opening.pk).child_count == opening_children + 1
    assert Notification.objects.filter(user=world.member, kind="reply", post__body="Said once").count() == 1
    assert Activity.objects.filter(kind=Activity.Kind.REPLY, user=world.facilitator).count() == 2
    _assert_thread_consistent(thread)


def test_the_same_new_thread_submitted_twice_at_once_makes_one_thread(world):
    def start():
        return services.start_thread(world.member, world.public, title="Only one", body="Once", submission_key="t-key")

    results = run_together(start, start, start)
    _assert_no_errors(results, Thread)
    assert len({r.pk for r in results}) == 1
    assert Thread.objects.filter(title="Only one").count() == 1
    assert Post.objects.filter(body="Once").count() == 1
    assert Activity.objects.filter(kind=Activity.Kind.THREAD, user=world.member).count() == 1


# --- Through the HTTP layer ------------------------------------------------------------------


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_twenty_replies_at_once_through_the_reply_form(world, conversation, members, relaxed_limits):
    thread = conversation.thread
    url = thread.get_absolute_url() + "reply/"
    clients = [_logged_in(u) for u in members[:20]]

    def send(i, client):
        extra = {"HTTP_HX_REQUEST": "true"} if i % 2 else {}
        return client.post(url, {"body": f"Over HTTP {i}", "submission_key": f"http-{i}"}, **extra)

    results = run_together(*[lambda i=i, c=c: send(i, c) for i, c in enumerate(clients)])
    _assert_no_errors(results, HttpResponseBase)
    assert [r.status_code for r in results] == [200 if i % 2 else 302 for i in range(20)]
    created = {p.body: p for p in Post.objects.filter(body__startswith="Over HTTP")}
    assert len(created) == 20
    for i, response in enumerate(results):
        post = created[f"Over HTTP {i}"]
        assert post.author == members[i]
        if i % 2:
            assert f'id="post-{post.pk}"' in response.content.decode()
        else:
            assert response["Location"].endswith(f"#post-{post.pk}")
    assert Thread.objects.get(pk=thread.pk).reply_count == thread.reply_count + 20
    _assert_thread_consistent(thread)


def test_the_same_reply_form_sent_twice_at_once_over_http_makes_one_post(world, conversation, relaxed_limits):
    thread = conversation.thread
    url = thread.get_absolute_url() + "reply/"
    # A double click and a browser retry: the same session, the same form (a Client is not
    # thread-safe, so the second one carries a copy of the first one's session cookie).
    first = _logged_in(world.facilitator)
    second = Client()
    second.cookies = copy.deepcopy(first.cookies)
    data = {"body": "Double click", "submission_key": "http-same"}
    results = run_together(lambda: first.post(url, data), lambda: second.post(url, data, HTTP_HX_REQUEST="true"))
    _assert_no_errors(results, HttpResponseBase)
    post = Post.objects.get(body="Double click")
    assert results[0].status_code == 302 and results[0]["Location"].endswith(f"#post-{post.pk}")
    assert results[1].status_code == 200 and f'id="post-{post.pk}"' in results[1].content.decode()
    assert Thread.objects.get(pk=thread.pk).reply_count == thread.reply_count + 1
    _assert_thread_consistent(thread)
