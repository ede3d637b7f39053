"""Demo repertoire for `manage.py seed_demo` (idempotent: skipped once resources exist)."""

from __future__ import annotations

import io
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw

from accounts.models import User
from communities.models import Community
from resources import services
from resources.models import Resource

# community slug → (who adds it, pinned?, the resource's fields, its tags)
LIBRARY: dict[str, list[tuple[str, bool, dict[str, Any], list[str]]]] = {
    "acute-pain": [
        (
            "amara",
            True,
            {
                "kind": "research",
                "title": "Behavioural pain scales when self-report fails",
                "citation_authors": "Fictional A, Example B",
                "citation_title": "Observer-rated pain in older adults with acute confusion: a ward-based comparison",
                "citation_venue": "Journal of Demonstration Nursing",
                "citation_year": 2024,
                "citation_link": "https://example.org/demo-paper",
                "summary": "On three surgical wards, nurses scored pain with a behavioural scale in patients who "
                "could not give a number. Scores **agreed well between nurses** and dropped after analgesia.",
                "in_practice": "- Score at the same time as routine observations, so it isn't an extra round.\n"
                "- Re-score 30-60 minutes after giving analgesia.\n"
                "- Watch for: scores that stay high after treatment; ask the family what 'sore' looks like.",
                "try_this": "On your next shift, score one confused patient with the behavioural scale at obs time.",
            },
            ["assessment", "delirium"],
        ),
        (
            "joe",
            True,
            {
                "kind": "howto",
                "title": "How to run a 22:00 pre-emptive analgesia round",
                "description": "1. Add the round to the evening handover sheet.\n2. Ask every patient about pain "
                "*before* settling.\n3. Chart the score and the plan.\n\nWhat we saw: fewer overnight call bells.",
            },
            ["nights", "quality-improvement"],
        ),
        (
            "mei",
            False,
            {
                "kind": "tool",
                "title": "Multimodal analgesia planning template",
                "description": "A one-page template for planning paracetamol, NSAID and opioid doses together.",
                "url": "https://example.org/template",
            },
            ["analgesia", "template"],
        ),
        (
            "hannah",
            False,
            {
                "kind": "story",
                "title": "The night the PCA finally made sense to me",
                "description": "A short story about learning to titrate patient-controlled analgesia with a "
                "patient who taught me more than the policy did.",
            },
            ["pca", "nights"],
        ),
        (
            "amara",
            False,
            {
                "kind": "file",
                "title": "Pain score poster for the ward",
                "description": "Print it A3 for the staff room.",
            },
            ["assessment"],
        ),
    ],
    "persistent-pain-physio": [
        (
            "tomas",
            True,
            {
                "kind": "research",
                "title": "Graded activity versus usual care",
                "citation_title": "Graded activity for persistent low back pain: a demonstration trial",
                "citation_venue": "Demo Physiotherapy Review",
                "citation_year": 2023,
                "summary": "People who followed a graded plan did more of what mattered to them at six months.",
                "in_practice": "Agree the baseline together, increase by small planned steps, celebrate the steps.",
                "citation_link": "PMID: 12345678",
                "try_this": "With your next new patient, agree one baseline activity and a first small step.",
            },
            ["pacing"],
        ),
    ],
    "opioid-stewardship": [
        (
            "mei",
            True,
            {
                "kind": "howto",
                "title": "First month of a taper: a checklist",
                "description": "- Agree the goal together\n- Small first step\n- Review before the next reduction",
            },
            ["tapering"],
        ),
    ],
}


def _poster() -> SimpleUploadedFile:
    image = Image.new("RGB", (900, 600), (250, 248, 240))
    draw = ImageDraw.Draw(image)
    for i in range(11):
        x = 60 + i * 75
        draw.rectangle([x, 250, x + 60, 350], outline=(40, 40, 40), width=3)
        draw.text((x + 24, 290), str(i), fill=(20, 20, 20))
    draw.text((60, 120), "How much pain do you have right now?", fill=(20, 20, 20))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return SimpleUploadedFile("pain-score-poster.png", out.getvalue(), content_type="image/png")


def seed_resources(users: dict[str, User]) -> list[str]:
    if Resource.objects.exists():
        return []
    count = 0
    for slug, items in LIBRARY.items():
        community = Community.objects.get(slug=slug)
        for username, pinned, fields, tags in items:
            upload = _poster() if fields["kind"] == "file" else None
            resource = services.add_resource(users[username], community, fields=fields, tags=tags, upload=upload)
            if pinned:
                services.set_pin(users["admin"], resource, "pin")
            count += 1
    research = Resource.objects.get(title="Behavioural pain scales when self-report fails")
    services.toggle_helpful(users["hannah"], research)
    services.toggle_helpful(users["joe"], research)
    services.start_discussion(users["hannah"], research)
    return [f"  {count} library resources (research summaries, how-tos, a tool, a story, a file), some pinned"]
