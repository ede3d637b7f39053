"""Factories for what tests build over and over: events, threads with replies, resources, memberships.

The ``world`` and ``conversation`` fixtures (tests/conftest.py) name the people and the first
threads; these build the rest. Each writes through the real service (``events.services``,
``discussions.services``, ``resources.services``), so a test built from them runs the code a
person's click runs: policy checks, rendering, counters, audit and the page cache. Memberships
are the exception: they are plain rows, as the world fixture writes them, because tests use
them to set a scene (a role, a state, a digest rhythm) that the join flow takes several steps
to reach.

Call them with the actor and the community first and everything else by keyword, naming only
what the test is about; the defaults are ordinary values no test asserts on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.models import User
from communities.models import Community, Membership
from discussions import services as discussions
from discussions.models import Post, Thread
from events import services as events
from events.models import Event
from resources import services as resources
from resources.models import Resource

# A moment: a fixed datetime, or an offset from now (negative for something already under way).
When = datetime | timedelta


def moment(when: When) -> datetime:
    return when if isinstance(when, datetime) else timezone.now() + when


# --- Events -----------------------------------------------------------------------------------


def event(
    host: User,
    community: Community,
    *,
    kind: str = Event.Kind.CHAT,
    title: str = "Hosted chat",
    starts: When = timedelta(days=2),
    length: timedelta = timedelta(hours=1),
    questions: Iterable[tuple[int, str]] = (),
    hosts: Sequence[User] = (),
    **fields: Any,
) -> Event:
    """An event ``host`` schedules: a hosted chat by default, or ``kind="call"`` (a meeting elsewhere).

    A chat's ``questions`` are (minute, text) pairs, posted at their minute once it runs. ``fields``
    are the event's other fields as the form sends them (welcome, time_zone, description, link);
    ``hosts`` default to ``host``, as in the form.
    """
    starts_at = moment(starts)
    return events.create_event(
        host,
        community,
        fields={"title": title, "kind": kind, "starts_at": starts_at, "ends_at": starts_at + length, **fields},
        questions=[events.PlannedQuestion(minute, text) for minute, text in questions],
        hosts=list(hosts),
    )


# --- Threads and replies ----------------------------------------------------------------------


def thread(
    author: User,
    community: Community,
    *,
    title: str = "Night rounds",
    body: str = "What do you check first?",
    kind: str = Thread.Kind.DISCUSSION,
    tags: Sequence[str] = (),
    replies: int = 0,
    by: User | Sequence[User] = (),
    nested: bool = False,
    created_at: datetime | None = None,
    **options: Any,
) -> Thread:
    """A thread ``author`` starts, with ``replies`` replies by ``by`` (default: the author); see ``replies``.

    ``created_at`` backdates it (digests and "unanswered for two days" look at when a thread began);
    ``options`` go to ``start_thread`` as they are (``suspected_spam``, ``submission_key``).
    """
    made = discussions.start_thread(author, community, title=title, body=body, kind=kind, tags=list(tags), **options)
    if replies:
        _replies(made, replies, by=by or author, nested=nested)
        made.refresh_from_db()
    if created_at is not None:
        Thread.objects.filter(pk=made.pk).update(created_at=created_at)
        made.created_at = created_at
    return made


def replies(
    thread: Thread,
    count: int,
    *,
    by: User | Sequence[User],
    under: Post | None = None,
    nested: bool = False,
    body: str = "Reply {i}",
) -> list[Post]:
    """``count`` replies to ``thread``, written by ``by`` (one person, or several taking turns).

    Each answers ``under`` (default: the opening post); ``nested``, each answers the one before
    instead, a chain going one level deeper every time. ``body`` may name ``{i}`` (0, 1, …) and
    ``{depth}`` (the level the reply sits at: 1 under the opening post).
    """
    people = [by] if isinstance(by, User) else list(by)
    made: list[Post] = []
    parent = under
    for i in range(count):
        depth = (parent.depth if parent is not None else 0) + 1
        post = discussions.reply(people[i % len(people)], thread, body.format(i=i, depth=depth), parent=parent)
        made.append(post)
        if nested:
            parent = post
    return made


_replies = replies  # for thread(), whose ``replies`` parameter hides the function


# --- Resources --------------------------------------------------------------------------------


def resource(
    by: User,
    community: Community,
    *,
    kind: str = Resource.Kind.HOWTO,
    title: str = "Handover card",
    tags: Sequence[str] = (),
    file: tuple[str, bytes] | None = None,
    **fields: Any,
) -> Resource:
    """A resource ``by`` adds to the library; ``file`` is an upload as (file name, contents).

    ``fields`` are the kind's other fields as the form sends them (url, description, summary, …).
    """
    upload = SimpleUploadedFile(*file) if file is not None else None
    return resources.add_resource(
        by, community, fields={"kind": kind, "title": title, **fields}, tags=list(tags), upload=upload
    )


# --- Memberships ------------------------------------------------------------------------------


def membership(
    user: User,
    community: Community,
    *,
    role: str = Membership.Role.MEMBER,
    state: str = Membership.State.ACTIVE,
    **extra: Any,
) -> Membership:
    """``user``'s membership row, written as the world fixture writes them.

    It leaves ``community.member_count`` alone: a test whose page shows the count sets it.
    ``extra`` are other fields (digest_cadence, level, requested_at).
    """
    if state == Membership.State.PENDING:
        extra.setdefault("requested_at", timezone.now())
    return Membership.objects.create(user=user, community=community, role=role, state=state, **extra)


def settings_form(community: Community, **changes: Any) -> dict[str, Any]:
    """The community settings form as its page sends it (every field as stored), with ``changes``."""
    data: dict[str, Any] = {
        "name": community.name,
        "slug": community.slug,
        "domain": community.domain,
        "description": community.description,
        "visibility": community.visibility,
        "join_policy": community.join_policy,
        "default_cadence": community.default_cadence,
        "welcome": community.welcome,
        "introductions_thread_id": community.introductions_thread_id or "",
    }
    if community.buddies:
        data["buddies"] = "on"
    return {**data, **changes}
