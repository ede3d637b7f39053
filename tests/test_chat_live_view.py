"""The live view a running hosted chat polls: only for chats, from a real position, bounded and cacheable.

The page holds every post up to ``after``; each answer brings at most 100
posts that came since, in the order they came, and the next ``after``. A
reader far behind (a laptop woken up, a flood of answers) catches up batch
by batch; an answer costs the same queries for a chat of five posts or of
hundreds.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from discussions import services
from discussions.models import Post, Thread
from events import services as events
from events.models import Event
from tests import factories

pytestmark = pytest.mark.django_db

LIVE_BATCH = 100  # the most posts one answer may hold

# An answer's item, or a question's new section.
POST_ID = re.compile(r'<li class="post[^"]*" id="post-(\d+)"|<section class="chat-section" id="section-(\d+)"')
NEXT = re.compile(r'id="chat-poller"[^>]*\?after=(\d+)" hx-trigger="([^"]+)"')


@pytest.fixture(autouse=True)
def no_page_cache(settings):
    settings.PAGE_CACHE_SECONDS = 0


def running_chat(world, community=None, questions=((0, "First?"), (10, "Second?"))) -> Event:
    """A chat that started 15 minutes ago: the welcome and both questions are posted."""
    event = factories.event(
        world.facilitator,
        community or world.public,
        title="Night pain chat",
        starts=timedelta(minutes=-15),
        welcome="Welcome, everyone.",
        questions=questions,
    )
    events.run_chats(timezone.now())
    event.refresh_from_db()
    return event


def answers(event: Event, count: int, under: Post, people) -> list[Post]:
    """``count`` answers under ``under``, written straight to the tree (the service's cost is not under test)."""
    base = under.child_count
    now = timezone.now()
    first = Thread.objects.get(pk=event.thread_id).highest_post_number + 1
    rows = [
        Post(
            thread_id=event.thread_id,
            author=people[i % len(people)],
            parent=under,
            depth=under.depth + 1,
            path=f"{under.path}{base + i + 1:06d}",
            number=first + i,
            body=f"Answer number {i}",
            body_html=f"<p>Answer number {i}</p>",
            body_text=f"Answer number {i}",
            created_at=now,
        )
        for i in range(count)
    ]
    made = Post.objects.bulk_create(rows)
    Post.objects.filter(pk=under.pk).update(child_count=base + count)
    Thread.objects.filter(pk=event.thread_id).update(highest_post_number=first + count - 1)
    return made


def live_url(event: Event, after) -> str:
    return f"{event.thread.get_absolute_url()}live/?after={after}"


def follow(client, event: Event, after: int) -> tuple[list[list[int]], list]:
    """Poll like the page does from ``after`` until nothing is new: the post ids of each answer, and the answers."""
    batches, responses = [], []
    for _ in range(50):
        response = client.get(live_url(event, after), HTTP_HX_REQUEST="true")
        responses.append(response)
        if response.status_code in (204, 286) and not response.content:
            return batches, responses
        assert response.status_code in (200, 286), response.content
        body = response.content.decode()
        batches.append([int(answer or question) for answer, question in POST_ID.findall(body)])
        after = int(NEXT.search(body).group(1))
    raise AssertionError("the live view never said it was done")


def test_a_reader_far_behind_gets_every_post_in_batches_of_at_most_a_hundred(client, world):
    event = running_chat(world)
    q1, q2 = [q.post for q in event.questions.all()]
    made = answers(event, 130, q1, [world.member, world.owner]) + answers(event, 120, q2, [world.facilitator])
    client.force_login(world.member)

    batches, responses = follow(client, event, event.thread.opening_post_id)

    assert [len(b) for b in batches] == [LIVE_BATCH, LIVE_BATCH, 52]  # 250 answers and the two questions
    every = [pk for batch in batches for pk in batch]
    assert sorted(every) == sorted([q1.pk, q2.pk, *(p.pk for p in made)])  # each once, none missing
    # While more wait the page asks again at once; then it goes back to polling.
    triggers = [NEXT.search(r.content.decode()).group(2) for r in responses[:-1]]
    assert triggers == ["load", "load", "every 4s"]
    assert responses[-1].status_code == 204


def oob_targets(body: str) -> list[str]:
    return re.findall(r'hx-swap-oob="([^"]+)"', body)


def item(body: str, post: Post) -> str:
    """The ``<li>`` of ``post`` in a live answer."""
    start = body.index(f'id="post-{post.pk}"')
    return body[start : body.index("</li>", start)]


def test_answers_go_under_their_question_and_new_sections_come_whole(client, world):
    event = running_chat(world, questions=((20, "First?"), (40, "Later?")))  # only the welcome so far
    welcome = event.thread.opening_post_id
    early = services.reply(world.member, event.thread, "Hello from the night shift")
    events.run_chats(timezone.now() + timedelta(minutes=5))
    q1 = event.questions.get(position=1).post
    answer = services.reply(world.member, event.thread, "An answer to the first", parent=q1)

    body = client.get(live_url(event, welcome)).content.decode()

    # The page had nothing before the first question: that part comes first, then Q1's section with its answer.
    assert oob_targets(body) == ["afterbegin:#chat-sections", "beforeend:#chat-sections", "outerHTML"]
    assert body.index("Before the first question") < body.index(f'id="post-{early.pk}"') < body.index("First?")
    assert body.index("First?") < body.index(f'id="post-{answer.pk}"')
    assert f"?after={answer.pk}" in body

    # Next poll: both sections are on the page now, so posts are appended to them, in the order they came.
    reply = services.reply(world.owner, event.thread, "A reply to that answer", parent=answer)
    second = services.reply(world.facilitator, event.thread, "A second answer", parent=q1)
    hello = services.reply(world.owner, event.thread, "Hello back", parent=early)
    body = client.get(live_url(event, answer.pk)).content.decode()
    assert oob_targets(body) == [f"beforeend:#answers-{q1.pk}", "beforeend:#answers-open", "outerHTML"]
    assert body.index(f'id="post-{reply.pk}"') < body.index(f'id="post-{second.pk}"') < body.index("Hello back")
    # Away from what it answers, a reply says whom it answers; an answer to the question doesn't need to.
    assert "replying to" in item(body, reply) and "replying to" in item(body, hello)
    assert "replying to" not in item(body, second)


def test_an_ordinary_thread_has_no_live_view(client, world, conversation):
    url = f"{conversation.thread.get_absolute_url()}live/?after={conversation.opening.pk}"
    assert client.get(url).status_code == 404
    client.force_login(world.member)
    assert client.get(url).status_code == 404
    # A chat thread whose event is gone (or never was) is no chat either.
    Thread.objects.filter(pk=conversation.thread.pk).update(kind=Thread.Kind.CHAT)
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("after", ["", "0", "-1", "abc", "1e3", "٣", "99999999999999999999", "{other}", "{missing}"])
def test_after_must_be_a_post_of_this_chat(client, world, conversation, after):
    event = running_chat(world)
    after = after.format(other=conversation.opening.pk, missing=Post.objects.latest("pk").pk + 1000)
    response = client.get(live_url(event, after))
    assert response.status_code == 400
    assert response.content.decode() == "after must be the id of a post in this chat, e.g. ?after=123."
    assert client.get(event.thread.get_absolute_url() + "live/").status_code == 400


def test_an_outsider_gets_404_for_a_private_chat_whatever_the_position(client, world):
    event = running_chat(world, community=world.private)
    client.force_login(world.outsider)
    for after in ["abc", str(event.thread.opening_post_id)]:
        response = client.get(live_url(event, after))
        assert response.status_code == 404 and b"Night pain" not in response.content
    client.force_login(world.member)
    assert client.get(live_url(event, event.thread.opening_post_id)).status_code == 200


def test_a_live_answer_costs_the_same_queries_for_a_small_and_a_large_chat(
    client, world, django_assert_max_num_queries
):
    small, large = running_chat(world), running_chat(world)
    answers(small, 3, small.questions.first().post, [world.member])
    answers(large, 400, large.questions.first().post, [world.member, world.owner, world.facilitator])
    for who in (None, world.member):
        if who:
            client.force_login(who)
        for event in (small, large):
            # Session, user, thread with membership, event, position, questions, the batch.
            with django_assert_max_num_queries(7):
                response = client.get(live_url(event, event.thread.opening_post_id))
            assert response.status_code == 200
            assert len(POST_ID.findall(response.content.decode())) <= LIVE_BATCH


def test_anonymous_answers_are_shared_for_a_few_seconds_and_members_answers_stay_private(client, world):
    event = running_chat(world)
    first = event.thread.opening_post_id
    anonymous = client.get(live_url(event, first))
    assert anonymous["Cache-Control"] == "public, max-age=3"
    assert "Cookie" in anonymous["Vary"]
    newest = Post.objects.filter(thread=event.thread).latest("pk").pk
    assert client.get(live_url(event, newest))["Cache-Control"] == "public, max-age=3"  # "nothing new" too
    client.force_login(world.member)
    member = client.get(live_url(event, first))
    assert member["Cache-Control"] == "private, max-age=3"
    assert "Cookie" in member["Vary"]


def test_the_record_of_an_ended_chat_stops_the_polling_only_after_the_last_batch(client, world):
    event = running_chat(world)
    answers(event, 150, event.questions.first().post, [world.member])
    Event.objects.filter(pk=event.pk).update(ends_at=timezone.now() - timedelta(hours=1))
    _, responses = follow(client, event, event.thread.opening_post_id)
    assert [r.status_code for r in responses] == [200, 286, 286]
