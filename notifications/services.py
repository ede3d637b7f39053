"""Writes for notifications: reading one (and the rest of its row), reading all."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from notifications.models import Notification, kinds_read_together


def open_notification(user: User, note: Notification) -> int:
    """``user`` opened ``note``: it is read, with every other one about the same post and the rest of its row.

    The row (notifications.display) is the thread's notifications of the kinds
    read together, the event's, or the community's join requests. Returns how
    many became read. One UPDATE; opening it again changes nothing.
    """
    if note.user_id != user.pk:
        raise ValueError("A person opens only their own notifications.")
    kinds = kinds_read_together(note.kind)
    if note.post is not None:
        same = Q(post_id=note.post_id) | Q(post__thread_id=note.post.thread_id, kind__in=kinds)
    elif note.event_id is not None:
        same = Q(event_id=note.event_id)
    else:
        same = Q(community_id=note.community_id, kind__in=kinds)
    return Notification.objects.filter(user=user, read_at__isnull=True).filter(same).update(read_at=timezone.now())


def mark_all_read(user: User) -> int:
    """Every unread notification of ``user`` becomes read; returns how many."""
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())
