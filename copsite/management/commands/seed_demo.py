"""Create believable demo data, idempotently, and print the demo logins."""

from __future__ import annotations

from urllib.parse import urlsplit

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.sites.models import Site
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import User

DEMO_PASSWORD = "practice-together"

# Fictional people of a pain-management community of practice.
PEOPLE = [
    # username, display name, email, time zone, bio, is_staff
    ("admin", "Site Admin", "admin@example.org", "UTC", "Keeps the lights on.", True),
    (
        "amara",
        "Amara Osei",
        "amara@example.org",
        "Europe/London",
        "Pain management nurse specialist; facilitates the acute pain community.",
        False,
    ),
    (
        "tomas",
        "Tomás Ruiz",
        "tomas@example.org",
        "America/Mexico_City",
        "Physiotherapist working with people who live with persistent back pain.",
        False,
    ),
    (
        "mei",
        "Mei Lin",
        "mei@example.org",
        "Asia/Singapore",
        "Clinical pharmacist; interested in safer opioid tapering.",
        False,
    ),
    (
        "hannah",
        "Hannah Becker",
        "hannah@example.org",
        "Europe/Berlin",
        "Ward nurse, two years in; here to learn from people who have done this longer.",
        False,
    ),
    (
        "sam",
        "Sam Patel",
        "sam@example.org",
        "Australia/Sydney",
        "GP in a rural practice; mostly reads the digest on Sunday mornings.",
        False,
    ),
    (
        "joe",
        "Joe Whitfield",
        "joe@example.org",
        "America/Chicago",
        "Occupational therapist; collects good patient-education handouts.",
        False,
    ),
]


class Command(BaseCommand):
    help = "Create (or refresh) demo data and print the demo logins."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        site_host = urlsplit(settings.SITE_URL).netloc
        Site.objects.update_or_create(
            pk=settings.SITE_ID, defaults={"domain": site_host, "name": settings.COPSITE_NAME}
        )
        users: dict[str, User] = {}
        for username, display_name, email, tz, bio, is_staff in PEOPLE:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={"email": email, "display_name": display_name, "time_zone": tz, "bio": bio},
            )
            if created:
                user.set_password(DEMO_PASSWORD)
            user.is_staff = user.is_superuser = is_staff
            user.save()
            # Demo addresses are verified so the logins work straight away.
            EmailAddress.objects.update_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
            users[username] = user
        self.extend(users)
        self.stdout.write(self.style.SUCCESS("Demo data ready. Log in at /accounts/login/ with:"))
        for username, display_name, email, *_rest in PEOPLE:
            role = "site admin" if username == "admin" else ("facilitator" if username == "amara" else "member")
            self.stdout.write(f"  {email:<22} {DEMO_PASSWORD}   ({display_name}, {role})")

    def extend(self, users: dict[str, User]) -> None:
        """Communities, then (in later issues) threads, resources and events."""
        from communities.demo import seed_communities
        from discussions.demo import seed_events, seed_threads
        from resources.demo import seed_resources

        lines = [*seed_communities(users), *seed_threads(users), *seed_resources(users), *seed_events(users)]
        for line in lines:
            self.stdout.write(line)
