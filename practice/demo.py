"""Demo loop for `manage.py seed_demo`: members who said they'd try a research summary, and what happened.

Idempotent: skipped once any commitment exists.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from accounts.models import User
from practice import services
from practice.models import Commitment, ReportBack
from resources.models import Resource

# username → (days ago they committed, their answer or None, their story)
LOOP = {
    "tomas": (45, ReportBack.Outcome.HELPED, "Scored two confused patients at obs time; the night team kept it up."),
    "mei": (40, ReportBack.Outcome.NO_DIFFERENCE, "Our patients could mostly self-report, so it changed little."),
    "sam": (35, ReportBack.Outcome.NOT_YET, ""),
    "hannah": (5, None, ""),
}


def seed_loop(users: dict[str, User]) -> list[str]:
    if Commitment.objects.exists():
        return []
    resource = Resource.objects.filter(kind=Resource.Kind.RESEARCH).exclude(try_this="").order_by("pk").first()
    if resource is None:
        return []
    now = timezone.now()
    for username, (days_ago, outcome, story) in LOOP.items():
        user = users.get(username)
        if user is None:
            continue
        commitment = services.commit(user, resource, now=now - timedelta(days=days_ago))
        if outcome is not None:
            services.ask_due(now=now)
            commitment.refresh_from_db()
            services.report_back(user, commitment, outcome=outcome, story=story)
    return [f"  {len(LOOP)} members trying “{resource.title}”, three of them reported back"]
