"""Demo events for ``manage.py seed_demo`` (registered in EventsConfig.ready())."""

from __future__ import annotations

from accounts.models import User
from communities.models import Community


def seed_events(users: dict[str, User]) -> list[str]:
    """A past hosted chat with its full record, an upcoming chat with its questions, and a monthly call."""
    from datetime import timedelta

    from django.utils import timezone

    from discussions import services
    from events import recurrence
    from events import services as events
    from events.models import Event

    if Event.objects.exists():
        return []
    community = Community.objects.get(slug="acute-pain")
    amara = users["amara"]
    now = timezone.now()
    past_start = (now - timedelta(days=6)).replace(hour=19, minute=0, second=0, microsecond=0)
    past = events.create_event(
        amara,
        community,
        fields={
            "title": "Hosted chat: assessing pain when words fail",
            "kind": "chat",
            "starts_at": past_start,
            "ends_at": past_start + timedelta(hours=1),
            "time_zone": "Europe/London",
            "hashtag": "#acutepainchat",
            "welcome": "Welcome, everyone! Four questions over the hour; answer under each one.",
        },
        questions=[
            events.PlannedQuestion(m, t)
            for m, t in [
                (5, "Which patients on your ward can't give you a pain score?"),
                (20, "What do you use instead, and how confident are you in it?"),
                (35, "What would make behavioural scales stick on nights?"),
            ]
        ],
        hosts=[amara],
    )
    events.run_chats(past_start + timedelta(minutes=40))
    past.refresh_from_db()
    answers = {
        0: [("hannah", "Post-op patients with delirium, mostly at night."), ("mei", "People with advanced dementia.")],
        1: [
            ("joe", "A behavioural scale. Fairly confident once two of us score together."),
            ("tomas", "Family input: they know what 'sore' looks like."),
        ],
        2: [
            ("sam", "Putting it on the obs chart so it isn't an extra task."),
            ("hannah", "A short teaching slot at the night handover."),
        ],
    }
    assert past.thread is not None  # run_chats opened it
    for index, question in enumerate(past.questions.all()):
        for username, text in answers[index]:
            services.reply(users[username], past.thread, text, parent=question.post)
    upcoming_start = (now + timedelta(days=5)).replace(hour=19, minute=0, second=0, microsecond=0)
    upcoming = events.create_event(
        amara,
        community,
        fields={
            "title": "Hosted chat: multimodal analgesia on a busy ward",
            "kind": "chat",
            "starts_at": upcoming_start,
            "ends_at": upcoming_start + timedelta(hours=1),
            "time_zone": "Europe/London",
            "hashtag": "#acutepainchat",
        },
        questions=[
            events.PlannedQuestion(m, t)
            for m, t in [
                (5, "What does a good multimodal plan look like on your ward?"),
                (15, "Where do plans fall apart in practice?"),
                (30, "One change you could try next week?"),
            ]
        ],
        hosts=[amara],
    )
    # A monthly call on the same weekday of the month (e.g. every 2nd Tuesday), six of them.
    call_start = (now + timedelta(days=12)).replace(hour=12, minute=30, second=0, microsecond=0)
    week, _ = recurrence.month_week_of(call_start.astimezone(recurrence.zone("America/Mexico_City")).date())
    events.create_series(
        users["tomas"],
        Community.objects.get(slug="persistent-pain-physio"),
        fields={
            "title": "Monthly case call",
            "kind": "call",
            "starts_at": call_start,
            "ends_at": call_start + timedelta(minutes=45),
            "time_zone": "America/Mexico_City",
            "link": "https://meet.example.org/persistent-pain",
            "description": "Bring one case, 5 minutes each.",
        },
        questions=[],
        repeat=events.Repeat(frequency="monthly", month_week=week if week <= 4 else -1, count=6),
    )
    for username in ("hannah", "joe", "sam"):
        events.rsvp(users[username], upcoming, "going")
    events.rsvp(users["mei"], upcoming, "maybe")
    return ["  events: a past hosted chat with its record, an upcoming chat with questions, a monthly call (six)"]
