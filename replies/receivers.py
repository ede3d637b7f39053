"""Reply addresses stop working when their person leaves the community or closes their account."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save

from accounts.models import User
from communities.models import Membership
from replies import tokens
from replies.models import DeliveryProblem, InboundMessage


def membership_saved(sender: object, instance: Membership, **kwargs: Any) -> None:
    if instance.state in (Membership.State.LEFT, Membership.State.BANNED):
        tokens.revoke(instance.user_id, community_id=instance.community_id)


def user_saved(sender: object, instance: User, **kwargs: Any) -> None:
    if not instance.is_active or instance.deleted_at is not None:
        tokens.revoke(instance.pk)
    if instance.deleted_at is not None:
        # A deleted account keeps no trace of its addresses here.
        DeliveryProblem.objects.filter(user_id=instance.pk).delete()
        InboundMessage.objects.filter(reply_key__user_id=instance.pk).exclude(sender="").update(sender="")


def connect() -> None:
    post_save.connect(membership_saved, sender=Membership, dispatch_uid="replies-membership-saved")
    post_save.connect(user_saved, sender=User, dispatch_uid="replies-user-saved")
