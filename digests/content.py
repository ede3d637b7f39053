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
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from taggit.models import TaggedItem

from communities import policy
from communities.models import Community, Membership, WatchLevel
from core import markup
from discussions.models import Post, ReadState, Thread, ThreadWatch
from discussions.reading import Position
from events.models import Event
from notifications.models import Notification
from resources.models import Resource
from value import queries as value_queries
from value.models import ValueNote

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
# Excerpts: enough to decide whether to click, cut at a word.
EXCERPT_CHARS = 300
IN_PRACTICE_CHARS = 200
MAX_FIRSTS = 5
# Realised value notes their authors let the digest quote (value.models.ValueNote.share_in_digest).
MAX_VALUES = 3
# Bounds on what a chunk reads for answers and first contributions (memory), whatever the site's size.
MAX_ANSWERS = 5000
MAX_FIRSTS_READ = 1000


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """Plain text on one line, at most ``limit`` characters, cut at a word with "…" when it is longer."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    if not flat[limit - 1].isspace():
        space = cut.rfind(" ")
        # One very long word (a URL) is cut where it must be rather than dropped.
        if space > limit // 2:
            cut = cut[:space]
    return cut.rstrip(" ,;:.-–—") + "…"


def plain(source: str) -> str:
    """A resource field's plain text (resources store the markup source and the HTML, not the text)."""
    try:
        return markup.render(source).text
    except markup.MarkupError:
        return source


def in_practice_line(source: str) -> str:
    """A research summary's "in practice", as plain text: its first paragraph, shortened."""
    paragraphs = [p for p in plain(source).split("\n\n") if p.strip()]
    return excerpt(paragraphs[0], IN_PRACTICE_CHARS) if paragraphs else ""


@dataclass(frozen=True)
class Note:
    """What an entry shows beyond its item's own fields, worked out once per build for every reader.

    ``answer`` is a question's accepted answer when every member may read it,
    else its most helpful visible reply (``answered`` says which).
    """

    excerpt: str = ""
    answered: bool = False
    answer: Post | None = None
    answer_excerpt: str = ""
    in_practice: str = ""


NO_NOTE = Note()

# A facilitator's digest names at most this many resources due for review (the dashboard lists them all).
MAX_DUE_FOR_REVIEW = 5


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
    firsts: list[Post] = field(default_factory=list)  # first contributions: a member's first post there
    value_stories: list[ValueNote] = field(default_factory=list)  # realised value notes, shared by their authors
    notes: dict[tuple[str, int], Note] = field(default_factory=dict)  # the pool's, by ("thread"|…, id)
    unsubscribe_url: str = ""  # this community's link in one person's digest, set by building.compose
    reply_addresses: dict[int, str] = field(default_factory=dict)  # thread id → their reply address, set by build
    # Facilitators only: library resources whose review date has come (rides along, never sends a digest alone).
    due_for_review: list[Resource] = field(default_factory=list)

    @property
    def celebrate(self) -> bool:
        return bool(self.stories or self.firsts or self.value_stories)

    def note(self, kind: str, item_id: int) -> Note:
        return self.notes.get((kind, item_id), NO_NOTE)

    @property
    def count(self) -> int:
        # Upcoming events and first contributions alone don't make a digest worth sending; they ride along.
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
    firsts: list[Post] = field(default_factory=list)  # oldest first
    value_stories: list[ValueNote] = field(default_factory=list)  # oldest first


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
    firsts: list[Post] = field(default_factory=list)
    notes: dict[tuple[str, int], Note] = field(default_factory=dict)
    value_stories: list[ValueNote] = field(default_factory=list)
    by_community: dict[int, Ranked] = field(default_factory=dict)
    due_for_review: dict[int, list[Resource]] = field(default_factory=dict)  # community id → due resources
    facilitators: dict[int, set[int]] = field(default_factory=dict)  # community id → facilitators' user ids

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
            ("firsts", self.firsts, lambda p: p.thread.community_id),
            ("value_stories", self.value_stories, lambda n: n.community_id),
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
            .select_related("author", "opening_post")
            .order_by("-created_at")[:300]
        )
        resources = list(
            # Current resources only: drafts wait for their owner, superseded ones left the digests.
            Resource.objects.filter(
                community_id__in=ids,
                removed_at__isnull=True,
                status__in=[Resource.Status.PUBLISHED, Resource.Status.ENDORSED],
            )
            .filter(Q(created_at__gte=since) | Q(pin_position__isnull=False, updated_at__gte=since))
            .select_related("added_by")
            # Pinned first on every database (SQLite sorts NULL first unless told).
            .order_by(F("pin_position").asc(nulls_last=True), "-helpful_count", "-created_at", "-pk")[:300]
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
        firsts = first_contributions(ids, since, now)
        value_stories = value_queries.shareable_realised(ids, since, now)
        located: list[Thread | Resource | Event] = [*threads, *questions, *resources, *chats, *events]
        for item in located:
            item.community = by_id[item.community_id]
        for post in [*replies, *firsts]:
            post.thread.community = by_id[post.thread.community_id]
        notes = notes_for([*threads, *questions], resources)
        # Facilitators' "due for review": one query for the chunk's resources, one for its facilitators.
        due: dict[int, list[Resource]] = {}
        for resource in (
            Resource.objects.filter(
                community_id__in=ids,
                removed_at__isnull=True,
                review_by__lte=timezone.localdate(now),
            )
            .exclude(status__in=[Resource.Status.SUPERSEDED, Resource.Status.DRAFT])
            .only("community", "title", "review_by")
            .order_by("review_by", "pk")[:500]
        ):
            resource.community = by_id[resource.community_id]
            due.setdefault(resource.community_id, []).append(resource)
        facilitators: dict[int, set[int]] = {}
        if due:
            for community_id, user_id in Membership.objects.filter(
                community_id__in=list(due),
                role__in=[Membership.Role.FACILITATOR, Membership.Role.OWNER],
                state=Membership.State.ACTIVE,
            ).values_list("community_id", "user_id"):
                facilitators.setdefault(community_id, set()).add(user_id)
        return cls(
            threads,
            replies,
            questions,
            resources,
            chats,
            events,
            tags_of(questions),
            firsts=firsts,
            notes=notes,
            value_stories=value_stories,
            due_for_review=due,
            facilitators=facilitators,
        )


def first_contributions(community_ids: list[int], since: datetime, now: datetime) -> list[Post]:
    """Each member's first visible post in a community, when it came in the window: one query for the chunk."""
    earlier = (
        Post.objects.filter(
            author_id=OuterRef("author_id"),
            thread__community_id=OuterRef("thread__community_id"),
            created_at__lt=OuterRef("created_at"),
        )
        .filter(policy.published_posts_q())
        .values("pk")
    )
    posts = (
        Post.objects.published()
        .filter(thread__community_id__in=community_ids, created_at__gte=since, created_at__lt=now)
        .filter(author__isnull=False)
        .exclude(Exists(earlier))
        .select_related("author", "thread")
        .defer("body", "body_html")
        .order_by("created_at", "pk")[:MAX_FIRSTS_READ]
    )
    seen: set[tuple[int | None, int]] = set()
    firsts = []
    for post in posts:
        key = (post.author_id, post.thread.community_id)
        if key not in seen:  # two posts in the same instant: the first only
            seen.add(key)
            firsts.append(post)
    return firsts


def notes_for(threads: list[Thread], resources: list[Resource]) -> dict[tuple[str, int], Note]:
    """Excerpts, answers and "in practice" lines for the pool: one query (the answers), once per build.

    Excerpts come from the stored plain text (``body_text``) of posts every
    member may read; the pool's threads were chosen so, and the answers are
    read with the same filter.
    """
    questions = {t.pk: t for t in threads if t.kind == Thread.Kind.QUESTION}
    best: dict[int, Post] = {}
    accepted: dict[int, Post] = {}
    if questions:
        accepted_ids = [t.accepted_answer_id for t in questions.values() if t.accepted_answer_id]
        for post in (
            Post.objects.published()
            .filter(Q(pk__in=accepted_ids) | Q(thread_id__in=list(questions), depth__gt=0, helpful_count__gt=0))
            .select_related("author")
            .defer("body", "body_html")
            .order_by("-helpful_count", "created_at", "pk")[:MAX_ANSWERS]
        ):
            if post.pk == questions[post.thread_id].accepted_answer_id:
                accepted[post.thread_id] = post
            elif post.depth > 0:
                best.setdefault(post.thread_id, post)
    notes: dict[tuple[str, int], Note] = {}
    for thread in threads:
        text = excerpt(thread.opening_post.body_text) if thread.opening_post else ""
        answer = accepted.get(thread.pk) or best.get(thread.pk)
        notes["thread", thread.pk] = Note(
            excerpt=text,
            answered=thread.pk in accepted,
            answer=answer,
            answer_excerpt=excerpt(answer.body_text) if answer else "",
        )
    for resource in resources:
        summary = resource.summary if resource.kind == Resource.Kind.RESEARCH else resource.description
        notes["resource", resource.pk] = Note(
            excerpt=excerpt(plain(summary), EXCERPT_CHARS) if summary else "",
            in_practice=in_practice_line(resource.in_practice) if resource.kind == Resource.Kind.RESEARCH else "",
        )
    return notes


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
    section = Section(community, notes=pool.notes)
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
    # Celebrate: members who posted there for the first time in the window, by name.
    section.firsts = [
        p
        for p in ranked.firsts
        if start <= p.created_at < end and p.author_id != reader.user_id and p.thread_id not in muted
    ][:MAX_FIRSTS]
    # And realised value: what changed for members, in their words, when they let the digest say it.
    section.value_stories = [
        n
        for n in ranked.value_stories
        if start <= n.created_at < end and n.author_id != reader.user_id and n.thread_id not in muted
    ][:MAX_VALUES]
    if reader.user_id in pool.facilitators.get(community.pk, ()):
        section.due_for_review = pool.due_for_review.get(community.pk, [])[:MAX_DUE_FOR_REVIEW]
    return section
