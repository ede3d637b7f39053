"""Demo people for ``manage.py seed_demo`` (registered in AccountsConfig.ready())."""

from __future__ import annotations

from allauth.account.models import EmailAddress

from accounts import sites
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


def seed_people(made: dict) -> list[str]:
    """The people every other app's demo data needs, with verified addresses so the logins work at once."""
    sites.name_the_site()
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
        EmailAddress.objects.update_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
        users[username] = user
    made["people"] = users
    return logins()


def logins() -> list[str]:
    lines = ["Demo data ready. Log in at /accounts/login/ with:"]
    for username, display_name, email, *_rest in PEOPLE:
        role = "site admin" if username == "admin" else ("facilitator" if username == "amara" else "member")
        lines.append(f"  {email:<22} {DEMO_PASSWORD}   ({display_name}, {role})")
    return lines
