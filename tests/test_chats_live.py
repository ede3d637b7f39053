"""Hosted chats through a real Celery worker: each question at its minute, once, whatever the beat does.

``discussions.run_events`` takes an explicit ISO instant (a controllable clock),
so an hour of beat ticks is published in a second and a real worker process
runs them against the configured broker (Redis when REDIS_URL is set, the
filesystem broker otherwise) and database. The tests wait for each task in
the worker's own log, then read the database: no sleeping for minutes.
"""

from __future__ import annotations

import ast
import re
import signal
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from discussions.models import Post
from events import services as events
from events.models import Event, EventQuestion
from events.tasks import run_events
from tests import factories
from tests.worker import LiveWorker, wait_until

pytestmark = pytest.mark.live_worker

UTC = ZoneInfo("UTC")
# A fixed start far from today, so every run plans the same thing whatever the real date.
START = datetime(2030, 1, 15, 20, 0, tzinfo=UTC)
QUESTIONS = ((5, "What brought you here?"), (15, "Which scale do you use?"), (30, "What would you change?"))


@pytest.fixture
def workers(transactional_db, mail_dir, tmp_path):
    """Start real workers on the tests' queue, each with its own log; all stopped after the test."""
    started: list[LiveWorker] = []

    def start() -> LiveWorker:
        worker = LiveWorker(mail_dir=mail_dir)
        worker.log_path = tmp_path / f"worker-{len(started) + 1}.log"
        started.append(worker)
        worker.start()
        return worker

    yield start
    for worker in started:
        if worker.process and worker.process.poll() is None:
            worker.process.send_signal(signal.SIGTERM)
    for worker in started:
        worker.stop()


def beat(minute: float) -> str:
    """Publish one tick of the beat for START + ``minute`` minutes; the task's id."""
    return run_events.delay((START + timedelta(minutes=minute)).isoformat()).id


def finished(worker: LiveWorker, task_id: str, timeout: float = 20) -> dict[str, int]:
    """Wait until ``worker`` logs the task as done; what it returned."""
    pattern = re.compile(
        rf"Task discussions\.run_events\[{re.escape(task_id)}\] (succeeded in [\d.]+s: (\{{.*\}})|raised|failed)"
    )

    def done() -> bool:
        return pattern.search(worker.output()) is not None

    wait_until(done, timeout=timeout, what=f"task {task_id}", log=worker.output)
    match = pattern.search(worker.output())
    assert match.group(2), f"run_events failed in the worker:\n{worker.output()}"
    return ast.literal_eval(match.group(2))


def make_chat(world, title: str = "Pain assessment chat") -> Event:
    return factories.event(
        world.facilitator,
        world.public,
        title=title,
        starts=START,
        welcome="Welcome, everyone: introduce yourselves!",
        questions=QUESTIONS,
    )


def posted(event: Event) -> list[str]:
    """The chat's question posts in reading order (depth 1 = directly under the welcome)."""
    event.refresh_from_db()
    if event.thread_id is None:
        return []
    return list(Post.objects.filter(thread_id=event.thread_id, depth=1).order_by("path").values_list("body", flat=True))


def expected(*numbers: int) -> list[str]:
    return [f"**Q{n}.** {QUESTIONS[n - 1][1]}" for n in numbers]


def test_questions_are_posted_at_their_minutes_once_across_duplicate_beats_and_a_restart(world, workers):
    event = make_chat(world)
    first = workers()

    # Before the start: nothing opens.
    assert finished(first, beat(-1)) == {"questions": 0, "reminders": 0}
    event.refresh_from_db()
    assert event.thread_id is None

    # At the start, twice (two beats at once): one thread, the host's welcome, no question yet.
    results = [finished(first, task) for task in [beat(0), beat(0)]]
    assert results == [{"questions": 0, "reminders": 0}] * 2
    event.refresh_from_db()
    thread = event.thread
    assert thread is not None and thread.kind == "chat"
    assert Event.objects.get(pk=event.pk).thread_id == thread.pk
    welcome = thread.opening_post
    assert welcome.author == world.facilitator and welcome.body == "Welcome, everyone: introduce yourselves!"
    assert posted(event) == []

    # :04 nothing; :05 (duplicated) Q1, once.
    assert finished(first, beat(4))["questions"] == 0
    results = [finished(first, task) for task in [beat(5), beat(5)]]
    assert sorted(r["questions"] for r in results) == [0, 1]
    assert posted(event) == expected(1)

    # The worker goes away between questions; the :15 tick waits in the broker for the next one.
    first.stop()
    waiting = beat(15)
    second = workers()
    assert finished(second, waiting)["questions"] == 1
    assert finished(second, beat(15))["questions"] == 0  # the beat's own duplicate after the restart
    assert posted(event) == expected(1, 2)

    # :29 nothing; then :30 twice and a late :45 tick, published together (the broker may
    # deliver them in any order): Q3, once.
    assert finished(second, beat(29))["questions"] == 0
    assert posted(event) == expected(1, 2)
    results = [finished(second, task) for task in [beat(30), beat(30), beat(45)]]
    assert sorted(r["questions"] for r in results) == [0, 0, 1]
    assert posted(event) == expected(1, 2, 3)

    # Each question is linked to its own post, directly under the welcome, in minute order.
    questions = list(EventQuestion.objects.filter(event=event).select_related("post").order_by("position"))
    assert [q.post.parent_id for q in questions] == [welcome.pk] * 3
    assert [q.post.author_id for q in questions] == [world.facilitator.pk] * 3
    assert [q.post.created_at for q in questions] == sorted(q.post.created_at for q in questions)
    assert Post.objects.filter(thread=thread).count() == 4
    thread.refresh_from_db()
    assert thread.reply_count == 3


def test_cancellation_stops_the_questions_still_to_come(world, workers):
    running_chat = make_chat(world)
    never_opened = make_chat(world, title="Cancelled the day before")
    events.cancel_event(world.facilitator, never_opened)
    worker = workers()
    assert finished(worker, beat(5))["questions"] == 1  # a late first tick opens the chat and catches up on Q1
    assert posted(running_chat) == expected(1)

    events.cancel_event(world.facilitator, running_chat)
    results = [finished(worker, task) for task in [beat(15), beat(15), beat(30), beat(59)]]
    assert [r["questions"] for r in results] == [0, 0, 0, 0]
    assert posted(running_chat) == expected(1)
    unasked = EventQuestion.objects.filter(event=running_chat, post__isnull=True)
    assert list(unasked.values_list("position", flat=True)) == [2, 3]
    running_chat.refresh_from_db()
    assert running_chat.cancelled_at is not None
    assert Post.objects.filter(thread_id=running_chat.thread_id).count() == 2  # the welcome and Q1, nothing more

    # The one cancelled before its start never opened at all.
    never_opened.refresh_from_db()
    assert never_opened.thread_id is None
    assert not EventQuestion.objects.filter(event=never_opened, post__isnull=False).exists()
