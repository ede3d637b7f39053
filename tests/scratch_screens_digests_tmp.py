"""Scratch: screenshots of the pages styled in this change (deleted afterwards)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from discussions import services as discussions
from discussions.models import Thread
from digests import unsubscribe
from resources import services
from tests.browser import SCREENSHOTS, log_in, visit

pytestmark = pytest.mark.browser


def _png(w=900, h=400):
    out = io.BytesIO()
    Image.new("RGB", (w, h), (40, 120, 200)).save(out, format="PNG")
    return SimpleUploadedFile("wide-chart.png", out.getvalue(), content_type="image/png")


def _data(world, conversation):
    made = {}
    for kind, title in [
        ("tool", "Handover checklist template"),
        ("story", "How our ward halved night-time falls"),
        ("howto", "How to run a five-minute huddle"),
        ("link", "NICE guideline on delirium"),
    ]:
        made[kind] = services.add_resource(
            world.owner,
            world.public,
            fields={"kind": kind, "title": title, "description": "Some **words** here."},
            tags=["sleep", "handover"],
        )
    made["file"] = services.add_resource(
        world.owner,
        world.public,
        fields={"kind": "file", "title": "Falls chart (poster)", "description": ""},
        tags=[],
        upload=_png(),
    )
    made["research"] = services.add_resource(
        world.facilitator,
        world.public,
        fields={
            "kind": "research",
            "title": "Sleep hygiene after surgery",
            "citation_title": "Sleep disruption and post-operative pain: a demonstration cohort",
            "citation_authors": "Doe J, Roe R, Poe P",
            "citation_venue": "Journal of Ward Practice",
            "citation_year": 2024,
            "citation_link": "https://doi.org/10.1234/very-long-identifier-that-could-overflow-a-phone-screen-0000000000",
            "summary": "Patients who slept worse reported **more pain** the next day.",
            "in_practice": "- Cluster night-time observations\n- Ask about sleep at handover",
        },
        tags=["sleep"],
    )
    services.set_pin(world.owner, made["research"], "pin")
    services.set_pin(world.owner, made["tool"], "pin")
    q = discussions.start_thread(
        world.owner, world.public, title="Who has tried a sleep round?", kind="question", body="Any sleep tips?"
    )
    Thread.objects.filter(pk=q.pk).update(created_at=timezone.now() - timedelta(days=2))
    discussions.start_thread(world.owner, world.public, title="Our sleep story", kind="story", body="sleep better")
    discussions.reply(world.facilitator, conversation.thread, "hi @mira")
    return made


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screens(browser, live_server, world, conversation, scheme):
    made = _data(world, conversation)
    token = unsubscribe.make_token(world.member.pk, world.public.pk)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=scheme)
    problems = []
    try:
        view = context.new_page()
        log_in(view, live_server.url, world.member.email)
        pages = {
            "library": "/c/commons/library/",
            "research": made["research"].get_absolute_url(),
            "file": made["file"].get_absolute_url(),
            "search": "/search/?q=sleep",
            "email-settings": "/settings/email/",
            "community": "/c/commons/",
            "add": "/c/commons/library/add/",
            "unsubscribe": f"/email/unsubscribe/{token}/",
        }
        fern = {
            "dashboard": "/c/commons/facilitate/",
            "preview": "/c/commons/facilitate/digest-preview/?level=peripheral",
        }
        for group, urls in (("mira", pages), ("fern", fern)):
            if group == "fern":
                view.context.clear_cookies()
                log_in(view, live_server.url, world.facilitator.email)
            for width in (1280, 360):
                view.set_viewport_size({"width": width, "height": 800})
                for name, url in urls.items():
                    try:
                        visit(view, live_server.url + url)
                    except AssertionError as exc:
                        problems.append(f"{name} {width} {scheme}: {exc}")
                    wide = view.evaluate("document.documentElement.scrollWidth")
                    if wide > width:
                        problems.append(f"{name} scrolls sideways at {width} ({scheme}): {wide}")
                    view.screenshot(path=str(SCREENSHOTS / f"x-{name}-{width}-{scheme}.png"), full_page=True)
    finally:
        context.close()
    assert not problems, "\n".join(problems)
