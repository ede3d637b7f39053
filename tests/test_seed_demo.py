"""`seed_demo` builds a believable community of practice, idempotently, and its logins work."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from communities.models import Community, Membership
from discussions.models import Flag, Post, Thread

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_is_idempotent_and_covers_the_product(client):
    first = seed()
    counts = (Community.objects.count(), Thread.objects.count(), Post.objects.count(), Membership.objects.count())
    second = seed()
    assert counts == (
        Community.objects.count(),
        Thread.objects.count(),
        Post.objects.count(),
        Membership.objects.count(),
    )
    assert "amara@example.org" in first and "practice-together" in second

    assert set(Community.objects.values_list("visibility", "join_policy")) == {
        ("open", "open"),
        ("open", "approval"),
        ("restricted", "approval"),
        ("private", "invite"),
    }
    acute = Community.objects.get(slug="acute-pain")
    levels = set(Membership.objects.filter(community=acute, state="active").values_list("level", flat=True))
    assert levels == {"core", "active", "peripheral", "inactive"}
    assert Membership.objects.filter(state="pending").exists()
    assert set(Thread.objects.values_list("kind", flat=True)) == {"discussion", "question", "story", "chat"}
    assert Thread.objects.filter(pinned=True).exists()
    assert Thread.objects.exclude(accepted_answer=None).exists()
    assert Post.objects.filter(depth__gte=3).exists()
    assert Post.objects.filter(helpful_count__gt=0).exists()
    assert Flag.objects.filter(resolved_at__isnull=True).exists()
    from resources.models import Resource

    kinds = set(Resource.objects.values_list("kind", flat=True))
    assert {"research", "tool", "story", "howto", "file"} <= kinds
    assert Resource.objects.filter(pin_position__isnull=False).count() >= 3
    assert Resource.objects.exclude(in_practice="").filter(kind="research").exists()
    assert Resource.objects.filter(kind="file").exclude(preview="").exists()
    from practice.models import Commitment, ReportBack

    # The practice loop: members who said they'd try a research summary, some who reported back.
    assert Commitment.objects.count() >= 3 and ReportBack.objects.exclude(story="").count() >= 2
    tried = Commitment.objects.first().resource
    page = client.get(tried.get_absolute_url()).content.decode()
    assert "Tried in practice" in page and "Tried it, and it helped" in page
    from events.models import Event

    past_chat = Event.objects.get(kind="chat", thread__isnull=False)
    assert past_chat.questions.filter(post__isnull=False).count() == 3
    assert Post.objects.filter(thread=past_chat.thread, depth=2).count() == 6
    assert Event.objects.filter(kind="chat", thread__isnull=True).exists()
    assert Event.objects.filter(kind="call", series__isnull=False).count() >= 2
    # Welcome, introductions and a community request for the site admin to decide.
    acute.refresh_from_db()
    assert "glad you're here" in acute.welcome_html
    assert Thread.objects.get(pk=acute.introductions_thread_id).title.startswith("Welcome! Start here")
    from communities.models import CommunityRequest

    assert CommunityRequest.objects.filter(state="pending").count() == 1


def test_demo_facilitator_can_log_in_and_reach_the_dashboard(client):
    seed()
    response = client.post("/accounts/login/", {"login": "amara@example.org", "password": "practice-together"})
    assert response.status_code == 302
    dashboard = client.get("/c/acute-pain/facilitate/").content.decode()
    assert "Facilitate Acute Pain Practice" in dashboard and "Flagged posts (1)" in dashboard
    # A year of weekly level counts: the health page's chart and table show 52 or 53 weeks.
    health = client.get("/c/acute-pain/facilitate/health/").content.decode()
    weeks = health.split('id="levels-table-caption"')[1].split("</table>")[0].count('<th scope="row">')
    assert weeks >= 52


def test_the_demo_facilitator_has_unread_posts_to_jump_to(client):
    seed()
    client.post("/accounts/login/", {"login": "amara@example.org", "password": "practice-together"})
    page = client.get("/c/acute-pain/").content.decode()
    assert '>2 new<span class="visually-hidden"> posts in Welcome! Start here' in page
