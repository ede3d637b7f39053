"""Facilitator alerts: a newcomer's question nobody answered, and review work by email on the facilitator's cadence.

Join requests, flags and held posts become notifications as they happen
(notifications/receivers.py); ``alert_unanswered`` adds the fourth kind of
review work, hourly: a question a newcomer asked a day ago that no one else
has answered tells the community's facilitators, once per question
(``UnansweredAlert``: the row is taken in the transaction that tells them,
so a second run, even at the same moment, tells no one again).

Each facilitator chooses how these reach them by email (``AlertSettings``,
default daily): right away (the notification sweep, notifications/email.py),
once a day in one email (``send_summaries``), or never. The bell and the
header's "N to review" show them whatever the choice.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse

from accounts.models import User
from communities import policy
from communities.models import Membership
from core.mail import queue_templated_email
from discussions.models import Post, Thread
from notifications.models import (
    FACILITATOR_KINDS,
    AlertCadence,
    AlertSettings,
    Notification,
    UnansweredAlert,
)

UNANSWERED_AFTER = timedelta(hours=24)
# Older questions are not raised when the alerts start (or after an outage):
# a day late is still useful, a month is noise.
UNANSWERED_LOOKBACK = timedelta(days=7)
# A member who joined the community this recently is a newcomer.
NEWCOMER_DAYS = 30
SUMMARY_EVERY = timedelta(hours=23)  # "once a day", whatever minute the hourly task runs at
SUMMARY_SHOWN = 30


def cadences(user_ids: Iterable[int]) -> dict[int, str]:
    """Each person's cadence (``AlertCadence``), daily for those who never chose: one query."""
    ids = list(user_ids)
    chosen = dict(AlertSettings.objects.filter(user_id__in=ids).values_list("user_id", "cadence"))
    return {uid: chosen.get(uid, AlertCadence.DAILY) for uid in ids}


def cadence_of(user: User) -> str:
    return cadences([user.pk])[user.pk]


def set_cadence(user: User, cadence: str) -> AlertSettings:
    if cadence not in AlertCadence.values:
        raise ValueError(f"unknown cadence {cadence!r}")
    row, _ = AlertSettings.objects.update_or_create(user=user, defaults={"cadence": cadence})
    return row


# --- Newcomers' questions nobody answered --------------------------------------------


def unanswered_questions(now: datetime) -> list[Thread]:
    """Published questions by newcomers, 1 to 7 days old, with no visible post by anyone else and no alert yet."""
    answered = (
        Post.objects.filter(thread=OuterRef("pk")).filter(policy.published_posts_q()).exclude(author=OuterRef("author"))
    )
    newcomer = Membership.objects.filter(
        user=OuterRef("author"),
        community=OuterRef("community"),
        state=Membership.State.ACTIVE,
        role=Membership.Role.MEMBER,
        joined_at__gte=OuterRef("created_at") - timedelta(days=NEWCOMER_DAYS),
    )
    alerted = UnansweredAlert.objects.filter(thread=OuterRef("pk"))
    return list(
        Thread.objects.filter(
            policy.published_threads_q(),
            kind=Thread.Kind.QUESTION,
            created_at__lte=now - UNANSWERED_AFTER,
            created_at__gte=now - UNANSWERED_LOOKBACK,
            opening_post__state=policy.POST_VISIBLE,
            accepted_answer__isnull=True,
        )
        .filter(Exists(newcomer))
        .exclude(Exists(answered))
        .exclude(Exists(alerted))
        .select_related("community", "author", "opening_post")
        .order_by("created_at")[:500]
    )


def alert_unanswered(now: datetime) -> int:
    """Tell each such question's facilitators, once per question; returns how many questions were raised."""
    raised = 0
    for thread in unanswered_questions(now):
        with transaction.atomic():
            _, created = UnansweredAlert.objects.get_or_create(thread=thread, defaults={"created_at": now})
            if not created:  # another run took it
                continue
            told = [uid for uid in policy.moderator_ids(thread.community) if uid != thread.author_id]
            Notification.objects.bulk_create(
                [
                    Notification(
                        user_id=uid,
                        kind=Notification.Kind.UNANSWERED,
                        actor=thread.author,
                        post=thread.opening_post,
                        created_at=now,
                    )
                    for uid in told
                ],
                ignore_conflicts=True,
            )
            raised += 1
    return raised


# --- The daily email ----------------------------------------------------------------


def _due_people(now: datetime) -> list[int]:
    """People with review work waiting since yesterday who get it daily (no row: daily) and were not mailed today."""
    waiting = (
        Notification.objects.filter(
            kind__in=FACILITATOR_KINDS, read_at__isnull=True, created_at__gte=now - timedelta(days=1)
        )
        .values_list("user_id", flat=True)
        .distinct()
    )
    not_daily = AlertSettings.objects.filter(
        ~Q(cadence=AlertCadence.DAILY) | Q(summary_sent_at__gt=now - SUMMARY_EVERY)
    )
    return sorted(set(waiting) - set(not_daily.values_list("user_id", flat=True)))


def send_summaries(now: datetime) -> int:
    """Once a day per facilitator who chose daily: one email of the review work since the last one.

    Returns how many emails were queued.

    The person's settings row is locked and stamped in the transaction that
    queues the email: run twice, the second run finds it sent and sends nothing.
    """
    sent = 0
    for user_id in _due_people(now):
        with transaction.atomic():
            row, _ = AlertSettings.objects.get_or_create(user_id=user_id)
            row = AlertSettings.objects.select_for_update().select_related("user").get(pk=row.pk)
            user = row.user
            if row.cadence != AlertCadence.DAILY or (row.summary_sent_at and row.summary_sent_at > now - SUMMARY_EVERY):
                continue
            if not user.is_active or user.email_paused or not user.email:
                continue
            since = max(row.summary_sent_at or now - timedelta(days=1), now - timedelta(days=1))
            notes = [
                note
                for note in Notification.objects.filter(
                    user=user, kind__in=FACILITATOR_KINDS, read_at__isnull=True, created_at__gt=since
                )
                .select_related("actor", "post__thread__community", "community", "event__community")
                .order_by("-created_at")[:200]
                if note.is_shown_to(user)
            ]
            if not notes:
                continue
            _send_summary(user, notes)
            row.summary_sent_at = now
            row.save(update_fields=["summary_sent_at"])
            sent += 1
    return sent


def _send_summary(user: User, notes: list[Notification]) -> None:
    from notifications import display

    lines = [
        {"sentence": row.sentence, "where": row.where, "link": settings.SITE_URL + display.target_url(row.opens)}
        for row in display.rows(notes, limit=SUMMARY_SHOWN)
    ]
    queue_templated_email(
        to=user.email,
        template="notifications/email/facilitator_summary",
        context={
            "person": user,
            "lines": lines,
            "count": len(notes),
            "more": max(0, len(display.rows(notes)) - len(lines)),
            "list_url": settings.SITE_URL + reverse("notifications:list"),
            "settings_url": settings.SITE_URL + reverse("notifications:alerts"),
        },
        kind="notification.facilitator_summary",
    )
