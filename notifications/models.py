"""In-app notifications: the bell, the list, and the emails sent for them.

The table keeps the name it was created under in discussions (``db_table``):
moving the model here changed no row.

A notification is about exactly one thing, its target: a post (replies,
mentions, accepted answers, "helpful", posts in watched threads and
communities, flags and posts held for review, hidden posts), an event (its
reminder) or a community (a join request, with the person asking as its
actor). The target is a foreign key, not text copied at write time, so what
a row says is decided when it is read: a notification about something its
recipient may no longer see (a hidden, held or deleted post, a community
left, a review queue they no longer keep) shows nothing and is never mailed
(``shown_to`` for lists and counts, ``is_shown_to`` for one row).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from communities import policy
from communities.models import Community
from discussions.models import Post, Thread
from events.models import Event

# Kinds whose target is not a post (every other kind, those apps add later too, is about a post).
EVENT_KINDS = ("event_reminder",)
COMMUNITY_KINDS = ("join_request", "first_contribution", "buddy_paired", "buddy_assigned")
# About a community, for the member themself (not review work): shown while they are a member of it.
MEMBER_COMMUNITY_KINDS = ("first_contribution", "buddy_paired", "buddy_assigned")
# For a community's facilitators, about its review work: shown only while they keep the role,
# counted in the header's "N to review" and emailed on the facilitator's own cadence (``AlertSettings``).
FACILITATOR_KINDS = ("join_request", "flagged", "held", "unanswered")

# Replies, mentions and posts in a watched thread are one conversation: the bell shows them as one row
# per thread ("Priya and 2 others replied in …"), and opening it reads them all. Every other kind
# groups with its own kind only.
CONVERSATION_KINDS = ("reply", "mention", "watching")


def kinds_read_together(kind: str) -> tuple[str, ...]:
    """The kinds that share one row (and are read together) with ``kind`` on the same target."""
    return CONVERSATION_KINDS if kind in CONVERSATION_KINDS else (kind,)


class NotificationQuerySet(models.QuerySet["Notification"]):
    def shown_to(self, user: User) -> NotificationQuerySet:
        """``user``'s notifications about what they may still see (left, banned, hidden, held, deleted: gone).

        The list twin of ``Notification.is_shown_to``; tests/test_notifications.py
        proves the two agree for every kind and target state.
        """
        moderated = policy.moderated_communities(user)
        about_post = (
            Q(post__isnull=False)
            & policy.readable_posts_q(user, "post__")
            # Flags and held posts are facilitators' business: gone with the role.
            & (~Q(kind__in=FACILITATOR_KINDS) | Q(post__thread__community__in=moderated))
        )
        about_event = Q(event__isnull=False) & policy.visible_events_q(user, "event__")
        about_community = Q(community__isnull=False) & (
            (~Q(kind__in=MEMBER_COMMUNITY_KINDS) & Q(community__in=moderated))
            | (Q(kind__in=MEMBER_COMMUNITY_KINDS) & Q(community__in=policy.member_communities(user)))
        )
        return self.filter(user=user).filter(about_post | about_event | about_community)


class Notification(models.Model):
    class Kind(models.TextChoices):
        # The labels are the verbs a line reads with its actor ("Fern Facilitator replied to you").
        MENTION = "mention", "mentioned you"
        REPLY = "reply", "replied to you"
        ACCEPTED = "accepted", "accepted your answer"
        HIDDEN = "hidden", "hid your post"
        HELPFUL = "helpful", "found your post helpful"
        # Made by watching levels (discussions/models.py): a new thread in a community the person
        # watches (or watches for new threads), a new post in a thread they watch.
        NEW_THREAD = "new_thread", "started a thread"
        WATCHING = "watching", "posted"
        EVENT_REMINDER = "event_reminder", "starts soon"
        JOIN_REQUEST = "join_request", "asked to join"
        FLAGGED = "flagged", "flagged a post"
        HELD = "held", "wrote a post held for review"
        REMINDER = "reminder", "reminder you set"
        # The practice loop (practice/services.py): "Did you try it?", about the resource's discussion's opening post.
        PRACTICE_ASK = "practice_ask", "asked: did you try it?"
        # A newcomer's question nobody answered for a day (notifications/alerts.py), about its opening post.
        UNANSWERED = "unanswered", "is still waiting for an answer"
        # A member's first contribution to a community, celebrated once (communities.ledger), about the community.
        FIRST_CONTRIBUTION = "first_contribution", "made a first contribution"
        # The newcomer a facilitator paired this member with wrote their first post there, about that post.
        BUDDY_POST = "buddy_post", "wrote a first post"
        # A facilitator paired a newcomer with a buddy, about the community: the newcomer's row names the
        # buddy as its actor, the buddy's names the newcomer.
        BUDDY_PAIRED = "buddy_paired", "is your buddy"
        BUDDY_ASSIGNED = "buddy_assigned", "is a newcomer you're a buddy to"

    FACILITATOR_KINDS = FACILITATOR_KINDS
    EVENT_KINDS = EVENT_KINDS
    COMMUNITY_KINDS = COMMUNITY_KINDS

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    # The target: exactly one of the three (notification_target_fits_kind).
    post = models.ForeignKey(Post, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    community = models.ForeignKey(Community, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    # Set when the email sweep has dealt with it (sent, grouped or left for the digest).
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_sent = models.BooleanField(default=False)

    objects = NotificationQuerySet.as_manager()

    # Not a column: the target's address, set by notifications.email._send for the email's templates.
    link: str

    class Meta:
        db_table = "discussions_notification"
        ordering = ["-created_at"]
        constraints = [
            # A post notifies a person once per kind, even if saved twice (NULL posts never collide).
            models.UniqueConstraint(fields=["user", "post", "kind"], name="one_notification_per_post_kind"),
            # An event reminds a person once.
            models.UniqueConstraint(fields=["user", "event", "kind"], name="one_notification_per_event_kind"),
            # A person asking to join tells each facilitator once (asking again re-arms the same row).
            models.UniqueConstraint(
                fields=["user", "community", "kind", "actor"], name="one_notification_per_community_kind_actor"
            ),
            # Exactly one target, the one its kind is about: a row the list could not draw is refused.
            models.CheckConstraint(
                condition=(
                    Q(kind__in=EVENT_KINDS, event__isnull=False, post__isnull=True, community__isnull=True)
                    | Q(kind__in=COMMUNITY_KINDS, community__isnull=False, post__isnull=True, event__isnull=True)
                    | (
                        ~Q(kind__in=EVENT_KINDS + COMMUNITY_KINDS)
                        & Q(post__isnull=False, event__isnull=True, community__isnull=True)
                    )
                ),
                name="notification_target_fits_kind",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="notification_user_idx"),
            # The bell: unread count per person.
            models.Index(fields=["user"], name="notification_unread_idx", condition=Q(read_at__isnull=True)),
            # The email sweep: not yet handled, oldest first.
            models.Index(fields=["created_at"], name="notification_email_idx", condition=Q(emailed_at__isnull=True)),
        ]

    def __str__(self) -> str:
        target = (
            f"post {self.post_id}"
            if self.post_id
            else f"event {self.event_id}"
            if self.event_id
            else f"community {self.community_id}"
        )
        return f"{self.user_id}: {self.kind} on {target}"

    def is_shown_to(self, user: User) -> bool:
        """Whether ``user`` may still read what this notification is about (target loaded with its community)."""
        if self.post is not None:
            post = self.post
            if not (policy.can_view_thread(user, post.thread) and policy.can_see_post_content(user, post)):
                return False
            return self.kind not in FACILITATOR_KINDS or policy.can_moderate(user, post.thread.community)
        if self.event is not None:
            return policy.can_view_event(user, self.event)
        if self.community is not None:
            if self.kind in MEMBER_COMMUNITY_KINDS:
                return policy.is_active_member(user, self.community)
            return policy.can_moderate(user, self.community)
        return False


class AlertCadence(models.TextChoices):
    IMMEDIATELY = "immediately", "Right away (at most one email an hour per conversation)"
    DAILY = "daily", "Once a day, in one email"
    OFF = "off", "Never: the bell is enough"


class AlertSettings(models.Model):
    """How a facilitator hears of their review work by email (join requests, flags, held posts, unanswered questions).

    No row: ``AlertCadence.DAILY``. ``summary_sent_at``: when the last daily
    email went out (notifications/alerts.py sends the next one a day later,
    with what came since).
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_settings")
    cadence = models.CharField(
        "email me about review work", max_length=12, choices=AlertCadence.choices, default=AlertCadence.DAILY
    )
    summary_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "alert settings"

    def __str__(self) -> str:
        return f"{self.user_id}: {self.cadence}"


class UnansweredAlert(models.Model):
    """A question its facilitators were told nobody had answered: one row per question, so they are told once."""

    thread = models.OneToOneField(Thread, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"unanswered alert for thread {self.thread_id}"
