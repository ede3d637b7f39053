"""What goes into digests: gathered once per chunk of people, filtered per person.

Queries grow with the number of communities and chunks, never with members:
candidates for every community in the chunk are fetched together, and each
person's read state, participation and tags come from one query per chunk.
Candidates are ranked once per chunk and filed by community, so choosing a
person's section only walks that community's ranked lists.
Each section is chosen for value: best first, capped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.utils import timezone
from taggit.models import TaggedItem

from communities import policy
from communities.models import Community, WatchLevel
from discussions.models import Post, ReadState, Thread, ThreadWatch
from discussions.reading import Position
from events.models import Event
from notifications.models import Notification
from resources.models import Resource

MAX_THREADS = 5
MAX_REPLIES = 3
# Peripheral members get the most invitations to help: it is how they come in.
MAX_QUESTIONS = {"core": 1, "active": 2, "peripheral": 4, "inactive": 4}
MAX_RESOURCES = 4
UPCOMING_EVENTS = timedelta(days=7)
NOTIFICATIONS_LOOKBACK = timedelta(days=31)
# Bounds the notifications read per chunk (memory), in proportion to the chunk's size.
NOTIFICATIONS_PER_PERSON = 100
UNANSWERED_AFTER = timedelta(days=1)
UNANSWERED_LOOKBACK = timedelta(days=30)


@dataclass
class Section:
    community: Community
    threads: list[Thread] = field(default_factory=list)
    replies: list[Post] = field(default_factory=list)
    questions: list[Thread] = field(default_factory=list)
    resources: list[Resource] = field(default_factory=list)
    stories: list[Thread] = field(default_factory=list)
    for_you: list[Notification] = field(default_factory=list)  # replies and mentions not emailed at once
    chats: list[Event] = field(default_factory=list)  # "missed the chat?"
    events: list[Event] = field(default_factory=list)  # coming up in the next 7 days
    newly_pinned: set[int] = field(default_factory=set)  # resource ids pinned (not added) in the window
    unsubscribe_url: str = ""  # this community's link in one person's digest, set by building.compose

    @property
    def count(self) -> int:
        # Upcoming events alone don't make a digest worth sending; they ride along.
        return (
            len(self.threads)
            + len(self.replies)
            + len(self.questions)
            + len(self.resources)
            + len(self.stories)
            + len(self.chats)
            + len(self.for_you)
        )


@dataclass
class Ranked:
    """One community's candidates, each list already in the order sections take them."""

    threads: list[Thread] = field(default_factory=list)  # best first
    replies: list[Post] = field(default_factory=list)  # most helpful first
    questions: list[Thread] = field(default_factory=list)  # newest first
    resources: list[Resource] = field(default_factory=list)  # pinned, then most helpful
    chats: list[Event] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)


@dataclass
class Pool:
    """Candidates for a set of communities since the earliest window start in the chunk."""

    threads: list[Thread]
    replies: list[Post]
    questions: list[Thread]
    resources: list[Resource]
    chats: list[Event] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    question_tags: dict[int, frozenset[str]] = field(default_factory=dict)  # question id → tag names
    by_community: dict[int, Ranked] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Ranked once here rather than once per person and community: sorting the
        # whole pool per section was most of the building time at 10,000 members.
        threads = sorted(
            self.threads,
            key=lambda t: (
                -(t.opening_post.helpful_count if t.opening_post else 0),
                -t.reply_count,
                -t.created_at.timestamp(),
                -t.pk,
            ),
        )
        # The newest id breaks ties, so the same data always gives the same digest.
        replies = sorted(self.replies, key=lambda p: (-p.helpful_count, -p.created_at.timestamp(), -p.pk))
        for name, items, community_of in (
            ("threads", threads, lambda t: t.community_id),
            ("replies", replies, lambda p: p.thread.community_id),
            ("questions", self.questions, lambda q: q.community_id),
            ("resources", self.resources, lambda r: r.community_id),
            ("chats", self.chats, lambda e: e.community_id),
            ("events", self.events, lambda e: e.community_id),
        ):
            for item in items:
                getattr(self.by_community.setdefault(community_of(item), Ranked()), name).append(item)

    def ranked(self, community_id: int) -> Ranked:
        return self.by_community.get(community_id) or Ranked()

    @classmethod
    def gather(cls, communities: list[Community], since: datetime, now: datetime) -> Pool:
        ids = [c.pk for c in communities]
        by_id = {c.pk: c for c in communities}
        threads = list(
            # Digests go to members of these communities: what every member sees there
            # (the published part of ``visible_to``), with an opening post worth reading.
            Thread.objects.published()
            .filter(community_id__in=ids, created_at__gte=since, created_at__lt=now)
            .filter(policy.published_posts_q("opening_post__"))
            .select_related("author", "opening_post")
            # Recency caps the pool (a monthly reader's window must not push a daily
            # reader's fresh items out); value orders each reader's section below.
            .order_by("-created_at")[:2000]
        )
        replies = list(
            Post.objects.published()
            .filter(
                thread__community_id__in=ids,
                depth__gt=0,
                created_at__gte=since,
                created_at__lt=now,
                helpful_count__gt=0,
            )
            .select_related("author", "thread")
            .order_by("-created_at")[:2000]
        )
        questions = list(
            Thread.objects.published()
            .filter(
                community_id__in=ids,
                kind=Thread.Kind.QUESTION,
                accepted_answer__isnull=True,
                reply_count=0,
                created_at__lt=now - UNANSWERED_AFTER,
                created_at__gte=now - UNANSWERED_LOOKBACK,
                locked_at__isnull=True,
            )
            .filter(policy.published_posts_q("opening_post__"))
            .select_related("author")
            .order_by("-created_at")[:300]
        )
        resources = list(
            Resource.objects.filter(community_id__in=ids, removed_at__isnull=True)
            .filter(Q(created_at__gte=since) | Q(pin_position__isnull=False, updated_at__gte=since))
            .select_related("added_by")
            .order_by("pin_position", "-helpful_count", "-created_at")[:300]
        )
        chats = list(
            Event.objects.filter(
                community_id__in=ids,
                kind=Event.Kind.CHAT,
                cancelled_at__isnull=True,
                thread__isnull=False,
                ends_at__gte=since,
                ends_at__lt=now,
            ).order_by("-ends_at")[:100]
        )
        events = list(
            Event.objects.filter(
                community_id__in=ids,
                cancelled_at__isnull=True,
                starts_at__gte=now,
                starts_at__lt=now + UPCOMING_EVENTS,
            ).order_by("starts_at")[:100]
        )
        located: list[Thread | Resource | Event] = [*threads, *questions, *resources, *chats, *events]
        for item in located:
            item.community = by_id[item.community_id]
        for reply in replies:
            reply.thread.community = by_id[reply.thread.community_id]
        return cls(threads, replies, questions, resources, chats, events, tags_of(questions))


def tags_of(threads: list[Thread]) -> dict[int, frozenset[str]]:
    """Tag names per thread in one query (taggit's prefetch costs a queryset per thread)."""
    names: dict[int, set[str]] = {t.pk: set() for t in threads}
    if threads:
        for object_id, name in TaggedItem.objects.filter(
            content_type=ContentType.objects.get_for_model(Thread), object_id__in=list(names)
        ).values_list("object_id", "tag__name"):
            names[object_id].add(name)
    return {pk: frozenset(tags) for pk, tags in names.items()}


@dataclass
class Reader:
    """What we know of one person for choosing their items."""

    user_id: int
    level: dict[int, str]  # community id → participation level
    read: dict[int, Position] = field(default_factory=dict)  # thread id → the posts they were shown
    took_part: set[int] = field(default_factory=set)  # thread ids they posted in
    muted: set[int] = field(default_factory=set)  # thread ids they muted: nothing from them
    notifications: list[Notification] = field(default_factory=list)  # unread, not emailed
    tags: set[str] = field(default_factory=set)


def readers_for(user_ids: list[int], levels: dict[int, dict[int, str]], pool: Pool) -> dict[int, Reader]:
    readers = {uid: Reader(uid, levels.get(uid, {})) for uid in user_ids}
    thread_ids = {t.pk for t in pool.threads} | {p.thread_id for p in pool.replies} | {q.pk for q in pool.questions}
    for uid, tid, upto, beyond in ReadState.objects.filter(user_id__in=user_ids, thread_id__in=thread_ids).values_list(
        "user_id", "thread_id", "last_read_post_number", "read_beyond"
    ):
        readers[uid].read[tid] = Position.stored(upto, beyond)
    reply_threads = {p.thread_id for p in pool.replies}
    for uid, tid in (
        Post.objects.filter(author_id__in=user_ids, thread_id__in=reply_threads)
        .values_list("author_id", "thread_id")
        .distinct()
    ):
        readers[uid].took_part.add(tid)
    # Notifications they chose to leave for the digest (or that were grouped away), still unread.
    for note in (
        Notification.objects.filter(
            user_id__in=user_ids,
            read_at__isnull=True,
            email_sent=False,
            created_at__gte=timezone.now() - NOTIFICATIONS_LOOKBACK,
            # Text every member of the community may read (hidden, held, deleted: left out).
        )
        .filter(policy.published_posts_q("post__"))
        # What watching levels announce (a new thread, each post of a watched thread) is news for
        # the bell; the digest has its own new threads, best first, and keeps "for you" personal.
        # A facilitator's review work waits in the bell and on the dashboard, not in digests.
        .exclude(kind__in=[Notification.Kind.NEW_THREAD, Notification.Kind.WATCHING, *Notification.FACILITATOR_KINDS])
        .select_related("actor", "post__thread")
        .order_by("created_at")[: NOTIFICATIONS_PER_PERSON * len(user_ids)]
    ):
        readers[note.user_id].notifications.append(note)
    # Threads they muted (watching levels), among those the digest could name: one query for the chunk.
    named = (
        thread_ids
        | {e.thread_id for e in pool.chats if e.thread_id}
        | {n.post.thread_id for reader in readers.values() for n in reader.notifications if n.post is not None}
    )
    for uid, tid in ThreadWatch.objects.filter(
        user_id__in=user_ids, level=WatchLevel.MUTED, thread_id__in=named
    ).values_list("user_id", "thread_id"):
        readers[uid].muted.add(tid)
    # A person's tags: the tags of threads they started (their interests, as they expressed them).
    for uid, tag in (
        Thread.objects.filter(author_id__in=user_ids, tags__isnull=False)
        .values_list("author_id", "tags__name")
        .distinct()
    ):
        readers[uid].tags.add(tag)
    return readers


def section_for(reader: Reader, community: Community, start: datetime, end: datetime, pool: Pool) -> Section:
    section = Section(community)
    ranked = pool.ranked(community.pk)

    def fresh(thread_id: int, number: int) -> bool:
        """Not shown to them yet: the post numbered ``number`` (1: the opening post) of the thread."""
        position = reader.read.get(thread_id)
        return position is None or not position.has_read(number)

    muted = reader.muted  # threads the person muted: never in their digest
    for thread in ranked.threads:
        if not (start <= thread.created_at < end):
            continue
        if thread.author_id == reader.user_id or not fresh(thread.pk, 1) or thread.pk in muted:
            continue
        target = section.stories if thread.kind == Thread.Kind.STORY else section.threads
        if len(target) < MAX_THREADS:
            target.append(thread)
    for reply in ranked.replies:
        if not (start <= reply.created_at < end):
            continue
        if reply.author_id == reader.user_id or reply.thread_id not in reader.took_part or reply.thread_id in muted:
            continue
        if fresh(reply.thread_id, reply.number) and len(section.replies) < MAX_REPLIES:
            section.replies.append(reply)
    questions = [
        q for q in ranked.questions if q.author_id != reader.user_id and q.pk not in reader.read and q.pk not in muted
    ]
    # Questions in the person's own tags first: the ones they can most likely answer.
    tags = pool.question_tags
    questions.sort(key=lambda q: (-len(reader.tags & tags.get(q.pk, frozenset())), -q.created_at.timestamp()))
    section.questions = questions[: MAX_QUESTIONS.get(reader.level.get(community.pk, "peripheral"), 2)]
    for resource in ranked.resources:
        if resource.added_by_id == reader.user_id:
            continue
        new = start <= resource.created_at < end
        newly_pinned = resource.pin_position is not None and start <= resource.updated_at < end
        if (new or newly_pinned) and len(section.resources) < MAX_RESOURCES:
            if newly_pinned and not new:
                section.newly_pinned.add(resource.pk)
            section.resources.append(resource)
    section.for_you = [
        n
        for n in reader.notifications
        if n.post is not None
        and n.post.thread.community_id == community.pk
        and start <= n.created_at < end
        and n.post.thread_id not in muted
    ][:5]
    section.chats = [e for e in ranked.chats if start <= e.ends_at < end and e.thread_id not in muted][:2]
    section.events = ranked.events[:3]
    return section
