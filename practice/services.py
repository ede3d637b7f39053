"""Writes for the practice loop: committing, asking (exactly once per ask), reporting back."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User, Viewer
from communities import policy
from communities.models import Community, Membership
from core import pagecache
from core.refusals import Refused
from discussions import services as discussions
from discussions.models import Post, Thread
from notifications.models import Notification
from practice.models import (
    DEFAULT_ASK_AFTER_DAYS,
    MAX_ASKS,
    SECOND_ASK_AFTER_DAYS,
    Commitment,
    LoopSetting,
    ReportBack,
)
from resources import services as resources
from resources.models import Resource

BATCH = 200
MAX_BATCHES = 50


class PracticeError(Refused):
    """A loop action refused, with a message for the person."""


def ask_after_days(community: Community) -> int:
    setting = LoopSetting.objects.filter(community=community).values_list("ask_after_days", flat=True).first()
    return setting or DEFAULT_ASK_AFTER_DAYS


def set_ask_after_days(actor: User, community: Community, days: int) -> LoopSetting:
    if not policy.can_moderate(actor, community):
        raise PracticeError("Only the community's facilitators choose when to ask.")
    if not 1 <= days <= 365:
        raise PracticeError("Choose between 1 and 365 days.")
    setting, _ = LoopSetting.objects.update_or_create(community=community, defaults={"ask_after_days": days})
    return setting


def can_commit(user: Viewer, resource: Resource) -> bool:
    """Members who may discuss a research summary with something to try may say they'll try it."""
    return bool(resource.is_research and resource.try_this and policy.can_discuss_resource(user, resource))


def commit(
    user: User, resource: Resource, *, note: str = "", try_by: date | None = None, now: datetime | None = None
) -> Commitment:
    """``user`` will try ``resource``'s suggestion; asked how it went ``ask_after_days`` later (twice at most).

    Committing again changes nothing (one commitment per person and resource).
    The resource's discussion thread is started if it has none: the report-backs
    are replies there, and the ask notification is about it.
    """
    if not can_commit(user, resource):
        raise PracticeError("Join the community to try this.")
    now = now or timezone.now()
    existing = Commitment.objects.filter(resource=resource, user=user).first()
    if existing is not None:
        return existing
    resources.start_discussion(user, resource)
    due = now + timedelta(days=ask_after_days(resource.community))
    try:
        with transaction.atomic():
            made = Commitment.objects.create(
                resource=resource, user=user, note=note.strip(), try_by=try_by, created_at=now, ask_due_at=due
            )
    except IntegrityError:  # the same click twice at once
        return Commitment.objects.get(resource=resource, user=user)
    pagecache.touched(resource.community)
    return made


def ask_due(now: datetime | None = None) -> int:
    """Ask every commitment due by ``now`` "Did you try it?"; returns how many were asked.

    Each batch is one transaction: due rows are locked and skipped by a run
    already holding them; each ask is a conditional UPDATE from the
    ``asked_count`` read (k) to k + 1 together with its notification, so a
    second run, a run racing this one or a worker restarted mid-batch asks
    nobody twice. The answered, those who left the community and commitments
    to removed resources are not asked: their rows stop being due.
    """
    now = now or timezone.now()
    asked = 0
    for _ in range(MAX_BATCHES):
        done, handled = _ask_batch(now)
        asked += done
        if handled < BATCH:
            break
    return asked


@transaction.atomic
def _ask_batch(now: datetime) -> tuple[int, int]:
    due = list(
        Commitment.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(ask_due_at__lte=now, answered_at__isnull=True, asked_count__lt=MAX_ASKS)
        .select_related("resource__thread", "resource__community")
        .order_by("ask_due_at", "pk")[:BATCH]
    )
    if not due:
        return 0, 0
    members = set(
        Membership.objects.filter(
            state=Membership.State.ACTIVE,
            user__is_active=True,
            user_id__in={c.user_id for c in due},
            community_id__in={c.resource.community_id for c in due},
        ).values_list("user_id", "community_id")
    )
    openers = dict(
        Post.objects.filter(
            thread_id__in={c.resource.thread_id for c in due if c.resource.thread_id}, depth=0
        ).values_list("thread_id", "pk")
    )
    asked = 0
    for commitment in due:
        resource = commitment.resource
        k = commitment.asked_count
        eligible = (
            resource.removed_at is None
            and (commitment.user_id, resource.community_id) in members
            and resource.thread_id in openers
        )
        if not eligible:
            # Left, removed, or nothing to ask about: no longer due (a later run doesn't look again).
            Commitment.objects.filter(pk=commitment.pk, asked_count=k).update(ask_due_at=None)
            continue
        last = k + 1 >= MAX_ASKS
        changed = Commitment.objects.filter(pk=commitment.pk, asked_count=k, answered_at__isnull=True).update(
            asked_count=k + 1,
            last_asked_at=now,
            ask_due_at=None if last else now + timedelta(days=SECOND_ASK_AFTER_DAYS),
        )
        if changed != 1:
            continue
        assert resource.thread_id is not None  # checked in eligible
        _notify(commitment.user_id, openers[resource.thread_id], now)
        asked += 1
    return asked, len(due)


def _notify(user_id: int, post_id: int, now: datetime) -> None:
    """The ask, about the discussion's opening post: a second ask brings the same row back as new."""
    kind = Notification.Kind.PRACTICE_ASK
    again = Notification.objects.filter(user_id=user_id, post_id=post_id, kind=kind).update(
        created_at=now, read_at=None, emailed_at=None, email_sent=False
    )
    if not again:
        Notification.objects.create(user_id=user_id, post_id=post_id, kind=kind, created_at=now)


def report_back(user: User, commitment: Commitment, *, outcome: str, story: str = "") -> ReportBack:
    """``user`` answers "Did you try it?"; a story becomes a reply in the resource's discussion.

    Answering stops the asks. A second answer replaces the first's outcome (a
    story already posted stays where it is; a new story posts again).
    """
    if commitment.user_id != user.pk:
        raise PracticeError("You can only say how your own try went.")
    resource = commitment.resource
    if not policy.can_view_resource(user, resource) or not policy.can_discuss_resource(user, resource):
        raise PracticeError("You're no longer a member of this community.")
    if outcome not in ReportBack.Outcome.values:
        raise PracticeError("Choose what happened.")
    story = story.strip()
    with transaction.atomic():
        return _report_back(user, commitment, resource, outcome, story)


def _report_back(user: User, commitment: Commitment, resource: Resource, outcome: str, story: str) -> ReportBack:
    post = None
    thread_id = resource.thread_id or 0
    if story:
        thread: Thread = resources.start_discussion(user, resource)
        thread_id = thread.pk
        label = ReportBack.Outcome(outcome).label
        post = discussions.reply(user, thread, f"**I tried this: {label.lower()}.**\n\n{story}")
    now = timezone.now()
    Commitment.objects.filter(pk=commitment.pk).update(answered_at=now, ask_due_at=None)
    report, created = ReportBack.objects.select_for_update().get_or_create(
        commitment=commitment,
        defaults={"resource": resource, "user": user, "outcome": outcome, "story": story, "post": post},
    )
    if not created:
        report.outcome = outcome
        if story:
            report.story, report.post = story, post
        report.save(update_fields=["outcome", "story", "post"])
    # The ask is answered: it leaves the bell.
    Notification.objects.filter(
        user=user, kind=Notification.Kind.PRACTICE_ASK, post__thread_id=thread_id, read_at__isnull=True
    ).update(read_at=now)
    pagecache.touched(resource.community)
    return report
