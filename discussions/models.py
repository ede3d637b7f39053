from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Case, F, FilteredRelation, IntegerField, OuterRef, Q, Value, When
from django.urls import reverse
from django.utils import timezone
from taggit.managers import TaggableManager

from accounts.models import User, Viewer
from communities import policy
from communities.models import Community, Membership, Subgroup, WatchLevel
from core.db import CappedCount, InJsonRanges
from discussions.reading import UNREAD_COUNTED, Position

# Materialized path: one fixed-width decimal segment per level. Digits only,
# so every database collation orders paths the same way (tree order).
PATH_SEGMENT = 6
MAX_SIBLINGS = 10**PATH_SEGMENT - 1


def path_segment(index: int) -> str:
    return str(index).zfill(PATH_SEGMENT)


class ThreadQuerySet(models.QuerySet["Thread"]):
    def visible_to(self, user: Viewer) -> ThreadQuerySet:
        """Threads ``user`` may open (``policy.can_view_thread``): the one definition every list uses."""
        return self.filter(policy.visible_threads_q(user))

    def of_member(self, user: Viewer, memberships=None) -> ThreadQuerySet:
        """``visible_to(user)`` in the communities ``user`` belongs to (``policy.member_threads_q``): their home."""
        return self.filter(policy.member_threads_q(user, memberships=memberships))

    def listed_in(self, community: Community, user) -> ThreadQuerySet:
        """``visible_to(user)`` within ``community``, for a reader who may view it (its thread list)."""
        return self.filter(policy.listed_threads_q(user, community))

    def published(self) -> ThreadQuerySet:
        """Threads every reader of their community sees: not held for review (digests, feeds)."""
        return self.filter(policy.published_threads_q())

    def with_unread(self, user: Viewer) -> ThreadQuerySet:
        """Each thread with ``unread_count``: how many posts ``user`` may read, did not write and was never shown.

        Readable is ``Post.objects.readable_by(user)`` (held, hidden and deleted
        posts of others are never counted); shown is their ReadState
        (``discussions.reading``). Counted up to ``UNREAD_COUNTED``; None for a
        thread they never opened, and for everyone when nobody is signed in.
        One correlated count per row, on the (thread, number) index.
        """
        if not user.is_authenticated:
            return self.annotate(**{"unread_count": Value(None, output_field=IntegerField())})
        unread = (
            Post.objects.readable_by(user)
            .filter(thread=OuterRef("pk"), number__gt=OuterRef("reading__last_read_post_number"))
            .exclude(author=user)
            .exclude(InJsonRanges(F("number"), OuterRef("reading__read_beyond")))
            .values("pk")[:UNREAD_COUNTED]
        )
        count = Case(
            When(reading__id__isnull=True, then=Value(None)), default=CappedCount(unread), output_field=IntegerField()
        )
        # By name in a dict: the attribute is declared on Thread (``unread_count``), where other reads set it too.
        return self.annotate(reading=FilteredRelation("read_states", condition=Q(read_states__user=user))).annotate(
            **{"unread_count": count}
        )


class PostQuerySet(models.QuerySet["Post"]):
    def readable_by(self, user: Viewer) -> PostQuerySet:
        """Posts whose content ``user`` may read: the one definition every list, search and count uses."""
        return self.filter(policy.readable_posts_q(user))

    def published(self) -> PostQuerySet:
        """Posts every reader of their community sees: shown (not hidden, held or deleted) in a published thread."""
        return self.filter(policy.published_posts_q())


class Thread(models.Model):
    class Kind(models.TextChoices):
        DISCUSSION = "discussion", "Discussion"
        QUESTION = "question", "Question"
        STORY = "story", "Story"
        CHAT = "chat", "Hosted chat"

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="threads")
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.DISCUSSION)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="threads")
    created_at = models.DateTimeField(default=timezone.now)
    pinned_at = models.DateTimeField(null=True, blank=True)
    # Ordering key for "pinned first" (a NULLS LAST index is not portable).
    pinned = models.BooleanField(default=False)
    locked_at = models.DateTimeField(null=True, blank=True)
    # Denormalized for lists, kept by discussions.services with F() in the
    # reply's own transaction.
    reply_count = models.PositiveIntegerField(default=0)
    last_activity_at = models.DateTimeField(default=timezone.now)
    # The number the thread's latest post took (Post.number): a reply takes the next
    # one in its own transaction, under the thread's row lock (discussions.services).
    highest_post_number = models.PositiveIntegerField(default=0)
    last_poster = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    opening_post = models.OneToOneField("Post", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    accepted_answer = models.ForeignKey("Post", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    tags = TaggableManager(blank=True)
    # The tag names, sorted, as lists and the thread page show them: a copy of
    # taggit's rows kept by discussions/tagnames.py on every change to them.
    tag_names = models.JSONField(default=list, blank=True, editable=False)
    # PostgreSQL full-text search: title (A) and opening post (B), kept by
    # discussions.services; unused (NULL) on SQLite.
    search_vector = SearchVectorField(null=True, editable=False)
    # Set while the opening post waits for a facilitator (new member's links,
    # suspected spam): only the author and facilitators see the thread at all.
    held_at = models.DateTimeField(null=True, blank=True)
    # A thread of a subgroup: read by its members and the community's facilitators only
    # (``policy.can_view_thread``). A subgroup with threads can't be deleted (PROTECT):
    # its threads would otherwise fall open to the whole community.
    subgroup = models.ForeignKey(Subgroup, null=True, blank=True, on_delete=models.PROTECT, related_name="threads")
    # Marked by a facilitator: a question a newcomer could answer (the "ways to start" lists).
    good_first_reply = models.BooleanField(default=False, db_default=False)

    objects = ThreadQuerySet.as_manager()

    # Not stored: set by the reads that show it (discussions/queries.py). Whether the reader has
    # something to read here (never opened, or unread posts), and how many posts they may read
    # and were never shown (None: never opened; at most queries.UNREAD_COUNTED).
    unread: bool
    unread_count: int | None
    unread_label: str  # ``unread_count`` as lists show it (``discussions.reading.unread_label``: "99+")
    # Not stored: the reader's watching level (``thread_level``), set by the reads that show it.
    level: Level
    # Not stored: the member home's rows (discovery/queries.py and discovery/home.py): whether the reader
    # ever opened it, whether it is new to them, and the row's links.
    opened: bool
    is_new: bool
    url: str
    first_unread_url: str
    accepted_url: str
    community_url: str

    class Meta:
        indexes = [
            # Community thread list: pinned first, then most recent activity.
            models.Index(fields=["community", "-pinned", "-last_activity_at"], name="thread_list_idx"),
            # The list as everyone but facilitators and authors sees it (nothing held
            # for review), and its page count: an index-only count, no heap visits.
            models.Index(
                fields=["community", "-pinned", "-last_activity_at"],
                condition=models.Q(held_at__isnull=True),
                name="thread_listed_idx",
            ),
            # Same list filtered by kind.
            models.Index(fields=["community", "kind", "-last_activity_at"], name="thread_kind_idx"),
            # Profile contributions.
            models.Index(fields=["author", "-created_at"], name="thread_author_idx"),
            # The member home's lists across communities (discovery/queries.py) and the visitor's
            # recent public activity: the most recently active threads first, whatever the community.
            models.Index(fields=["-last_activity_at"], name="thread_activity_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("discussions:thread", kwargs={"slug": self.community.slug, "pk": self.pk})

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None


class Post(models.Model):
    """The opening post (depth 0, empty path) or a reply anywhere in the tree."""

    class State(models.TextChoices):
        VISIBLE = "visible", "visible"
        HELD = "held", "held for review"
        HIDDEN = "hidden", "hidden by a facilitator"
        DELETED = "deleted", "deleted"

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="posts")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="posts")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    depth = models.PositiveSmallIntegerField(default=0)
    path = models.CharField(max_length=1200, blank=True)
    # Its place in the order the thread's posts were written: 1 is the opening post.
    # Read tracking counts by it (ReadState, discussions.reading); pages show tree order.
    number = models.PositiveIntegerField()
    child_count = models.PositiveIntegerField(default=0)
    body = models.TextField()
    body_html = models.TextField()
    body_text = models.TextField()
    render_version = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    edit_count = models.PositiveIntegerField(default=0)
    helpful_count = models.PositiveIntegerField(default=0)
    # Written by a guest expert of the thread (ThreadGuest): their byline says "guest", for good.
    by_guest = models.BooleanField(default=False, db_default=False)
    # Who sees it: everyone (visible), its author and the facilitators (held for
    # review, hidden by a facilitator), the facilitators alone (deleted: a
    # tombstone for everyone else, the content purged after 30 days). One field,
    # with the time it left "visible"; the database refuses any other combination.
    state = models.CharField(max_length=8, choices=State.choices, default=State.VISIBLE)
    state_changed_at = models.DateTimeField(null=True, blank=True)
    # The facilitator's decision on a held or hidden post: who, and why (the author sees the reason).
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    hidden_reason = models.CharField(max_length=500, blank=True)
    # A random key from the form: a double-click or browser retry of the same
    # form finds the post it already made instead of making a second one.
    submission_key = models.CharField(max_length=40, blank=True)
    search_vector = SearchVectorField(null=True, editable=False)

    objects = PostQuerySet.as_manager()

    # Not stored: set by the page's read (discussions.queries.page_of_posts). The author of the post this
    # one answers, and whether the reader marked it helpful.
    replying_to: User | None
    reader_found_helpful: bool
    # Not stored: what discussions.views.threads.decorate_posts works out for the template of each post.
    author_url: str
    reply_url: str
    parent_link: str
    helpful_url: str
    show_content: bool
    shown: bool
    indent: int
    says_parent: bool
    can_edit: bool
    can_delete: bool
    can_react: bool
    can_flag: bool
    i_found_helpful: bool
    is_unread: bool
    is_accepted: bool
    # Not stored: what apps above add to each post of a page (discussions/post_extras.py).
    marks: dict[str, Any]
    # Set by queries.page_of_posts: the reader's row of each post_extras.Joined (None: no row).
    joined: dict[str, Any]
    extra_actions: tuple[str, ...]

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["thread", "path"], name="post_unique_path"),
            # One post per number; its index serves the unread counts (a thread's posts past the reader's place).
            models.UniqueConstraint(fields=["thread", "number"], name="post_unique_number"),
            models.UniqueConstraint(
                fields=["author", "submission_key"], condition=~Q(submission_key=""), name="post_once_per_submission"
            ),
            # A known state, and a time exactly when it is not "visible".
            models.CheckConstraint(
                condition=Q(state="visible", state_changed_at__isnull=True)
                | Q(state__in=["held", "hidden", "deleted"], state_changed_at__isnull=False),
                name="post_state_consistent",
            ),
        ]
        indexes = [
            # A page of the tree: one ordered range scan.
            models.Index(fields=["thread", "path"], name="post_tree_idx"),
            # A running chat's live view: a thread's posts after one of them, in the order they came.
            models.Index(fields=["thread", "id"], name="post_arrival_idx"),
            # Profile contributions and participation.
            models.Index(fields=["author", "-created_at"], name="post_author_idx"),
            # Re-render command: rows behind the current renderer.
            models.Index(fields=["render_version"], name="post_render_idx"),
            # Review queue: posts waiting for a facilitator (few; a partial index stays tiny).
            models.Index(fields=["state_changed_at"], name="post_held_idx", condition=Q(state="held")),
        ]

    def __str__(self) -> str:
        return f"post {self.pk} in thread {self.thread_id}"

    def get_absolute_url(self) -> str:
        return reverse("discussions:post", kwargs={"pk": self.pk})

    @property
    def is_opening(self) -> bool:
        return self.depth == 0

    @property
    def is_deleted(self) -> bool:
        return self.state == self.State.DELETED

    @property
    def is_hidden(self) -> bool:
        """Not shown to everyone: hidden by a facilitator, or held for review (held posts count as hidden)."""
        return self.state in (self.State.HIDDEN, self.State.HELD)

    @property
    def is_held(self) -> bool:
        return self.state == self.State.HELD

    def set_state(self, state: str, at=None) -> None:
        """Move to ``state`` (a ``State``), keeping ``state_changed_at`` as the constraint wants it."""
        self.state = state
        self.state_changed_at = None if state == self.State.VISIBLE else (at or timezone.now())


class Revision(models.Model):
    """The source of a post before one edit."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="revisions")
    editor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    body = models.TextField()
    title = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["post", "-created_at"], name="revision_post_idx")]

    def __str__(self) -> str:
        return f"revision of post {self.post_id} at {self.created_at:%Y-%m-%d %H:%M}"


class Reaction(models.Model):
    class Kind(models.TextChoices):
        HELPFUL = "helpful", "Helpful"

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="reactions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.HELPFUL)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["post", "user", "kind"], name="one_reaction_per_kind")]
        # "Which of these posts did I mark helpful?" for a page of posts.
        indexes = [models.Index(fields=["user", "post"], name="reaction_user_post")]

    def __str__(self) -> str:
        return f"{self.user_id} found post {self.post_id} {self.kind}"


class Flag(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="flags")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution = models.CharField(max_length=20, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["post", "user"], name="one_flag_per_user_post")]
        indexes = [
            # Review queue: open flags, oldest first.
            models.Index(fields=["created_at"], name="flag_open_idx", condition=Q(resolved_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"flag on post {self.post_id} by {self.user_id}"


class ReadState(models.Model):
    """Which posts of a thread a member was shown: "new" markers, unread counts and "jump to first unread".

    ``last_read_post_number``: every post up to this number was shown to them
    (Discourse's name); ``read_beyond``: posts shown past it, as [first, last]
    pairs (a nested thread's pages, or a later page read first). See
    ``discussions.reading.Position``, which reads and moves them.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="read_states")
    last_read_post_number = models.PositiveIntegerField(default=0)
    read_beyond = models.JSONField(default=list, blank=True)
    # When the position last moved. Writers compare it to what they read, so two
    # pages loaded at once both count (discussions.services.mark_read).
    last_read_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "thread"], name="one_read_state")]

    def __str__(self) -> str:
        return f"{self.user_id} read thread {self.thread_id} up to post {self.last_read_post_number}"

    @property
    def position(self) -> Position:
        return Position.stored(self.last_read_post_number, self.read_beyond)


# --- Watching levels --------------------------------------------------------------------
# A thread's level for one member combines the level stored for the thread
# (ThreadWatch) with the member's level for its community (Membership.watch_level):
#   1. a thread level chosen by hand always wins;
#   2. otherwise a muted community mutes the thread, and a watched one watches it;
#   3. otherwise the automatic thread level (tracking: you started it or replied);
#   4. otherwise a tracked community tracks it; everything else is normal.
# discussions/queries.py holds the same rules as filters (who is told, what lists show);
# tests/test_watching.py checks the two agree.

THREAD_LEVELS = [WatchLevel.WATCHING, WatchLevel.TRACKING, WatchLevel.NORMAL, WatchLevel.MUTED]
# Levels whose threads show unread counts in lists (normal ones show only "New": never opened).
TRACKED_LEVELS = frozenset({WatchLevel.WATCHING, WatchLevel.TRACKING})


class ThreadWatch(models.Model):
    """How closely a member follows one thread, and why (Discourse's topic notification level and reason)."""

    class Reason(models.TextChoices):
        CREATED = "created", "you started this thread"
        REPLIED = "replied", "you replied in this thread"
        BY_HAND = "by_hand", "you chose it"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="+")
    level = models.CharField(max_length=20, choices=[(level.value, level.label) for level in THREAD_LEVELS])
    reason = models.CharField(max_length=10, choices=Reason.choices)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # Also the index for a list's or a page's look-up of the reader's level for a thread.
            models.UniqueConstraint(fields=["user", "thread"], name="one_watch_per_thread"),
            models.CheckConstraint(
                condition=Q(level__in=[lvl.value for lvl in THREAD_LEVELS]), name="watch_level_known"
            ),
            # Set automatically (started, replied) means tracking; any other level was chosen by hand.
            models.CheckConstraint(condition=Q(level="tracking") | Q(reason="by_hand"), name="watch_auto_tracks"),
        ]
        indexes = [
            # Who watches a thread, when a post arrives (notifications).
            models.Index(fields=["thread", "level"], name="watch_thread_level_idx"),
            # A member's muted threads: left out of lists and digests, the "Muted" view.
            models.Index(fields=["user"], name="watch_user_muted_idx", condition=Q(level="muted")),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.level} thread {self.thread_id} ({self.reason})"


# What a level means, in one line each, as the watching control says it.
THREAD_LEVEL_HELP = {
    WatchLevel.WATCHING: "Be told about every new post in this thread.",
    WatchLevel.TRACKING: "See how many posts you haven't read; be told when someone replies to you or mentions you.",
    WatchLevel.NORMAL: "Be told only when someone replies to you or mentions you.",
    WatchLevel.MUTED: "Never see it in your lists or digests, and never be told about it, not even a mention.",
}


@dataclass(frozen=True)
class Level:
    """A member's level for a thread, and where it comes from (``thread_level``)."""

    value: str
    # ThreadWatch.Reason, or COMMUNITY when the community's level decided, or "" (normal, by default).
    reason: str

    COMMUNITY = "community"

    @property
    def label(self) -> str:
        return WatchLevel(self.value).label

    @property
    def tracked(self) -> bool:
        return self.value in TRACKED_LEVELS

    @property
    def muted(self) -> bool:
        return self.value == WatchLevel.MUTED


def thread_level(watch: ThreadWatch | None, membership: Membership | None) -> Level:
    """The member's level for a thread: its ThreadWatch (or None) with their membership of its community."""
    community = membership.effective_watch_level if membership is not None and membership.is_active else ""
    if watch is not None and watch.reason == ThreadWatch.Reason.BY_HAND:
        return Level(watch.level, watch.reason)
    if community in (WatchLevel.MUTED, WatchLevel.WATCHING):
        return Level(community, Level.COMMUNITY)
    if watch is not None:
        return Level(watch.level, watch.reason)
    if community == WatchLevel.TRACKING:
        return Level(community, Level.COMMUNITY)
    return Level(WatchLevel.NORMAL, "")


class ThreadGuest(models.Model):
    """An outside expert asked into one thread for a limited time by a facilitator.

    The link mailed to ``email`` is not a ticket (it may be forwarded): the guest
    accepts from an account whose verified address is ``email`` and becomes ``user``.
    Access ends by itself at ``expires_at`` (``policy`` compares it with the clock on
    every request, so no job cuts it off) or when a facilitator revokes it.
    """

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="guests")
    email = models.EmailField()
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="guest_threads"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One guest place per person and thread: an extension moves ``expires_at``.
            models.UniqueConstraint(
                fields=["thread", "user"], condition=Q(user__isnull=False), name="one_guest_place_per_thread"
            ),
        ]
        indexes = [
            # Policy: the threads a person is a guest in right now (guest_threads_q), and their home's list.
            models.Index(fields=["user", "expires_at"], name="guest_user_expires_idx"),
            # The facilitators' list of a thread's guests.
            models.Index(fields=["thread", "-created_at"], name="guest_thread_created_idx"),
        ]

    def __str__(self) -> str:
        return f"guest {self.email} in thread {self.thread_id}"

    @property
    def is_active(self) -> bool:
        """Reading and posting now: accepted, not revoked, not expired."""
        return self.user_id is not None and self.revoked_at is None and self.expires_at > timezone.now()

    @property
    def is_open(self) -> bool:
        """The link may still be accepted: not accepted yet, not revoked, not expired."""
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > timezone.now()
