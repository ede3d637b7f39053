"""Demo conversations for `manage.py seed_demo` (idempotent: skipped once threads exist)."""

from __future__ import annotations

from accounts.models import User
from communities.models import Community
from discussions import services
from discussions.models import Post, Thread

# (community slug, author, kind, title, body, tags, replies)
# replies: (author, body, parent index or None for the opening post)
CONVERSATIONS: list[tuple[str, str, str, str, str, list[str], list[tuple[str, str, int | None]]]] = [
    (
        "acute-pain",
        "amara",
        "discussion",
        "Welcome! Start here: how this community works",
        "Hello and welcome. This is a place to **get better at acute pain care together**.\n\n"
        "- Ask questions, even the ones that feel basic.\n"
        "- Share what worked (and what didn't) on your ward.\n"
        "- Mark replies *helpful* so the best answers rise.\n\n"
        "Introduce yourself below: your role, your ward, one thing you'd like to improve this year.",
        ["welcome"],
        [
            (
                "hannah",
                "Hi all, Hannah here: surgical ward nurse, two years qualified. I want to get more "
                "confident titrating PCA overnight.",
                None,
            ),
            ("amara", "Welcome Hannah! PCA titration is a great topic. @joe wrote a handout on it last spring.", 0),
            ("joe", "I'll dig it out and add it to the library this week.", 1),
            (
                "sam",
                "Sam, rural GP. Mostly here to learn how the hospital side thinks about discharge analgesia.",
                None,
            ),
        ],
    ),
    (
        "acute-pain",
        "hannah",
        "question",
        "Assessing pain in patients with delirium at night?",
        "On nights we often can't get a reliable 0-10 score from patients with delirium. "
        "What do you use instead, and how do you chart it?",
        ["assessment", "delirium", "nights"],
        [
            (
                "mei",
                "We switched to a behavioural scale (facial expression, vocalisation, body language). "
                "It takes under a minute and the night team trusts it.",
                None,
            ),
            (
                "amara",
                "Same here. The trick that made it stick: score at the *same time* as obs, so it isn't an extra round.",
                0,
            ),
            (
                "tomas",
                "Do you re-score after giving analgesia? We found the second score is where the learning happens.",
                1,
            ),
            ("hannah", "Good point, we never re-score. Trying it this week.", 2),
            (
                "joe",
                "Family members are often the best early warning: ask them what 'sore' looks like for this person.",
                None,
            ),
        ],
    ),
    (
        "acute-pain",
        "joe",
        "story",
        "Small win: call bells down by a third after a pre-emptive analgesia round",
        "We added a 22:00 analgesia check to the evening handover. Six weeks in, overnight call bells for "
        "pain dropped by about a third. Nothing fancy, just **asking before people have to ask**.",
        ["nights", "quality-improvement"],
        [
            ("amara", "This is brilliant, Joe. Would you write it up for the library as a how-to?", None),
            ("sam", "Stealing this idea for our community hospital beds.", None),
        ],
    ),
    (
        "persistent-pain-physio",
        "tomas",
        "question",
        "How do you explain pacing without it sounding like 'do less'?",
        "Patients hear 'pacing' as being told to do less. How do you frame it?",
        ["pacing", "education"],
        [
            ("joe", "I talk about it as *planning a budget*: you still spend, just on purpose.", None),
            ("amara", "The budget metaphor works for us too, especially with a simple weekly planner.", 0),
        ],
    ),
    (
        "opioid-stewardship",
        "mei",
        "discussion",
        "Case: tapering after a long post-operative course (details changed)",
        "A patient in their 60s, six months after major surgery, still on a modest daily dose. "
        "They're worried about withdrawal. How would you structure the first month?",
        ["tapering", "case"],
        [
            ("sam", "Slow first step, agree the plan together, and book a review before the first reduction.", None),
            ("amara", "Sleep and mood support before the first reduction made the biggest difference for us.", 0),
        ],
    ),
    (
        "pain-case-review",
        "joe",
        "discussion",
        "Case: rebound pain on day two after a nerve block (details changed)",
        "A fit patient in their 40s, ankle fracture fixed under a popliteal block. Comfortable on day one, "
        "then severe pain at 3 a.m. on day two with only paracetamol charted. What would you change?",
        ["nerve-block", "case"],
        [
            (
                "amara",
                "We chart a regular opioid to start before the block wears off, and tell the patient when.",
                None,
            ),
            ("mei", "Same on our ward: the 3 a.m. call stopped once the night team knew to expect it.", 0),
        ],
    ),
]


def seed_threads(users: dict[str, User]) -> list[str]:
    if Thread.objects.exists():
        return []
    made = []
    for slug, author, kind, title, body, tags, replies in CONVERSATIONS:
        community = Community.objects.get(slug=slug)
        thread = services.start_thread(users[author], community, title=title, body=body, kind=kind, tags=tags)
        posts: list[Post] = []
        for replier, text, parent_index in replies:
            parent = posts[parent_index] if parent_index is not None else None
            posts.append(services.reply(users[replier], thread, text, parent=parent))
        made.append((thread, posts))
    (welcome, welcome_posts), (question, answers), (story, _story_posts) = made[0], made[1], made[2]
    services.set_thread_state(users["amara"], welcome, "pin")
    services.toggle_helpful(users["hannah"], answers[0])
    services.toggle_helpful(users["amara"], answers[0])
    services.toggle_helpful(users["joe"], answers[1])
    assert story.opening_post is not None  # start_thread always sets it
    services.toggle_helpful(users["mei"], story.opening_post)
    services.accept_answer(users["hannah"], question, answers[0])
    services.flag_post(users["tomas"], welcome_posts[3], "Looks like an advert for the practice: please check.")
    # Amara (the demo login) read the first page of two threads before the last replies came:
    # her list shows what is left ("2 new"), and "new" jumps to it.
    for thread in (welcome, question):
        services.mark_read(users["amara"], thread, [1, 2])
    return [
        f"  {len(made)} demo threads with replies, reactions, an accepted answer, a pin, a flag"
        " and unread posts for amara"
    ]
