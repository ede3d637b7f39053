from __future__ import annotations

import zoneinfo

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse

# How a deleted account's posts, resources and reactions are attributed.
FORMER_MEMBER = "Former member"
# What a person's name and profile link read (User.name, get_absolute_url): the columns a list loads for its people.
NAME_FIELDS = ("username", "display_name", "deleted_at")

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def default_email_notifications() -> list[str]:
    """Notification kinds emailed at once by default; the rest wait for the digest."""
    return ["mention", "reply", "hidden"]


def validate_time_zone(value: str) -> None:
    if value not in available_time_zones():
        raise ValidationError("Choose a time zone from the list.")


def available_time_zones() -> set[str]:
    return zoneinfo.available_timezones()


class User(AbstractUser):
    """A person. ``username`` is the public handle (profile URL, @mentions)."""

    email = models.EmailField("email address", unique=True)
    display_name = models.CharField(
        max_length=80,
        blank=True,
        help_text="How your name appears on posts. Leave empty to use your username.",
    )
    bio = models.TextField(
        "short bio",
        max_length=500,
        blank=True,
        help_text="A sentence or two about your practice. Plain text, up to 500 characters.",
    )
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text="Dates are shown, and digests delivered, in this time zone.",
    )

    # Email rhythm (digests app): delivery hour and weekly day in the
    # person's own time zone, a pause switch, and which notifications are
    # emailed straight away rather than left for the digest.
    digest_hour = models.PositiveSmallIntegerField(
        "digest delivery hour", default=7, validators=[MinValueValidator(0), MaxValueValidator(23)]
    )
    digest_weekday = models.PositiveSmallIntegerField(
        "weekly digest day", default=0, choices=[(i, day) for i, day in enumerate(WEEKDAYS)]
    )
    email_paused = models.BooleanField("pause all email", default=False)
    email_notifications = models.JSONField(default=default_email_notifications, blank=True)
    # Set when the person deleted their account: the row stays, anonymized, so
    # their posts keep their place in threads (see portability/deletion.py).
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        if self.deleted_at is not None:
            return FORMER_MEMBER
        return self.display_name or self.username

    def get_absolute_url(self) -> str:
        return reverse("accounts:profile", kwargs={"username": self.username})
