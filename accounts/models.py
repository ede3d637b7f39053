from __future__ import annotations

import zoneinfo
from typing import TypeAlias

from django.contrib.auth.models import AbstractUser, AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.http import HttpRequest
from django.urls import reverse

from accounts import names

# How a deleted account's posts, resources and reactions are attributed.
FORMER_MEMBER = "Former member"
# What a person's name and profile link read (User.name, get_absolute_url): the columns a list loads for its people.
NAME_FIELDS = ("username", "display_name", "deleted_at", "name_shared")
# A save that changes one of these recomputes the look-alike keys (accounts/names.py).
_NAME_SOURCES = frozenset({"username", "display_name", "deleted_at"})

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


# Notification kinds added after people had chosen theirs, emailed at once unless they say otherwise:
# threads and communities they chose to watch, the events they are going to, and a facilitator's
# review work (accounts/migrations/0005 turned them on for existing accounts).
ADDED_EMAIL_NOTIFICATIONS = [
    "new_thread",
    "watching",
    "event_reminder",
    "join_request",
    "flagged",
    "held",
    "buddy_post",
]


def default_email_notifications() -> list[str]:
    """Notification kinds emailed at once by default; the rest ("accepted", "helpful") wait for the digest."""
    return ["mention", "reply", "hidden", "reminder", *ADDED_EMAIL_NOTIFICATIONS]


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
    # person's own time zone, the one pause switch (with the moment a pause
    # for a while ends), and which notifications are emailed straight away
    # rather than left for the digest.
    digest_hour = models.PositiveSmallIntegerField(
        "digest delivery hour", default=7, validators=[MinValueValidator(0), MaxValueValidator(23)]
    )
    digest_weekday = models.PositiveSmallIntegerField(
        "weekly digest day", default=0, choices=[(i, day) for i, day in enumerate(WEEKDAYS)]
    )
    # Every sender asks this one switch: digests, notification and reminder emails, event news.
    email_paused = models.BooleanField("pause all email", default=False)
    # Set for a pause of a while: the beat task accounts.resume_email turns the switch back
    # off once it has passed. Empty while paused: until the person turns email back on.
    email_paused_until = models.DateTimeField(null=True, blank=True)
    # Why the site paused it (the settings page says so): "your address bounced on 2 Dec 2026".
    # Empty when the person paused it themselves.
    email_paused_reason = models.CharField(max_length=200, blank=True)
    email_notifications = models.JSONField(default=default_email_notifications, blank=True)
    # Set when the person deleted their account: the row stays, anonymized, so
    # their posts keep their place in threads (see portability/deletion.py).
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Look-alike keys (accounts/names.py): the skeleton of the username, refused
    # for anyone else at sign-up, and of the shown name; ``name_shared`` is true
    # while someone else is shown by a look-alike name (User.name adds the username).
    username_key = models.CharField(max_length=names.MAX_KEY_LENGTH, blank=True, editable=False)
    name_key = models.CharField(max_length=names.MAX_KEY_LENGTH, blank=True, editable=False)
    name_shared = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["username"]
        indexes = [
            models.Index(fields=["username_key"], name="user_username_key_idx"),
            models.Index(fields=["name_key"], name="user_name_key_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        """How the person appears everywhere: "Amara Okafor", or "Amara Okafor (@amara2)" while that name is shared."""
        if self.deleted_at is not None:
            return FORMER_MEMBER
        if self.display_name and self.name_shared:
            return f"{self.display_name} (@{self.username})"
        return self.display_name or self.username

    def clean(self) -> None:
        super().clean()
        # Wherever a username is typed outside sign-up (the admin): no look-alike of someone else's.
        try:
            names.check_username(type(self), self.username, exclude_pk=self.pk)
        except ValidationError as error:
            raise ValidationError({"username": error}) from None

    def save(self, *args, **kwargs) -> None:
        # Here rather than in a service: allauth, the profile and sign-up forms,
        # the admin, account deletion and restore all write names through save().
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and not _NAME_SOURCES & set(update_fields):
            super().save(*args, **kwargs)  # e.g. last_login: no name changed
            return
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "username_key", "name_key"}
        self.username_key = names.skeleton(self.username)
        new_key = names.shown_name_key(self.username, self.display_name, self.deleted_at is not None)
        with transaction.atomic():
            old_key = ""
            if self.pk is not None:
                old_key = (
                    type(self)._default_manager.filter(pk=self.pk).values_list("name_key", flat=True).first() or ""
                )
            # Taken before this row is written, so two people renaming at once take turns.
            names.lock_keys({old_key, new_key})
            self.name_key = new_key
            super().save(*args, **kwargs)
            if new_key != old_key:
                names.refresh_shared(type(self), {old_key, new_key})
                self.name_shared = (
                    type(self)._default_manager.filter(pk=self.pk).values_list("name_shared", flat=True).get()
                )

    def get_absolute_url(self) -> str:
        return reverse("accounts:profile", kwargs={"username": self.username})


# Whoever is looking: a signed-in person or an anonymous visitor (``request.user``).
# Every "may this person…" question and every visible-to list takes one.
Viewer: TypeAlias = User | AnonymousUser


def signed_in(request: HttpRequest) -> User:
    """The person behind a request a view has already checked is logged in (``login_required`` or its own check).

    A visitor here is a view's bug, not a refusal to word: Django's 403 page.
    """
    if not isinstance(request.user, User):
        raise PermissionDenied("Log in first.")
    return request.user


class AuthenticatedRequest(HttpRequest):
    """The request a ``login_required`` view receives: its ``user`` is a person, never a visitor.

    Only a type: Django hands the view its usual request; the annotation tells
    the type checker what ``login_required`` already guarantees.
    """

    user: User
