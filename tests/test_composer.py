"""The composer's endpoints: the live preview (POST /c/<slug>/preview/) and @mention suggestions
(GET /c/<slug>/mentions/?q=…). Both store nothing; both answer only signed-in people."""

from __future__ import annotations

import pytest
from django.test import Client

from communities.models import Membership
from core.markup import MAX_SOURCE_CHARS
from discussions.models import Post, Thread
from discussions.services import render_post

pytestmark = pytest.mark.django_db


def preview(client, text: str, slug: str = "commons", **extra: str):
    return client.post(f"/c/{slug}/preview/", {"text": text, **extra})


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [person["username"] for person in response.json()["people"]]


# --- Preview ------------------------------------------------------------------------------------


def test_preview_answers_the_html_the_saved_post_shows(client, world):
    client.force_login(world.member)
    text = "We cut **call bells** by half, thanks @fern!\n\n- one\n- two"
    response = preview(client, text)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    assert response.content.decode() == render_post(text).html
    assert "<strong>call bells</strong>" in response.content.decode() and 'href="/u/fern/"' in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    assert not Post.objects.filter(body=text).exists() and Thread.objects.count() == 0


def test_description_preview_renders_without_mention_links(client, world):
    client.force_login(world.facilitator)
    html = preview(client, "About @mira *here*", markup="text").content.decode()
    assert "<em>here</em>" in html and "/u/mira/" not in html


def test_preview_shows_script_tags_as_text(client, world):
    client.force_login(world.member)
    html = preview(client, "<script>alert(1)</script> <img src=x onerror=alert(2)>").content.decode()
    assert "<script" not in html and "onerror" not in html.replace("onerror=alert(2)&gt;", "")
    assert "&lt;script&gt;" in html


def test_preview_refuses_over_long_text_with_the_reason(client, world):
    client.force_login(world.member)
    response = preview(client, "x" * (MAX_SOURCE_CHARS + 1))
    assert response.status_code == 400 and response["Content-Type"].startswith("text/plain")
    assert "too long" in response.content.decode()


def test_empty_preview_is_empty(client, world):
    client.force_login(world.member)
    response = preview(client, "   \n ")
    assert response.status_code == 200 and response.content == b""


def test_preview_needs_a_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.member)
    assert preview(client, "**hi**").status_code == 403
    page = client.get("/c/commons/threads/new/").content.decode()
    token = page.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    assert preview(client, "**hi**", csrfmiddlewaretoken=token).status_code == 200


def test_preview_is_a_post(client, world):
    client.force_login(world.member)
    assert client.get("/c/commons/preview/").status_code == 405


def test_visitor_gets_no_preview(client, world):
    response = preview(client, "**hi**")
    assert response.status_code == 403 and b"Log in" in response.content


def test_outsider_of_a_private_community_gets_404_for_its_preview(client, world):
    client.force_login(world.outsider)
    assert preview(client, "**hi**", slug="circle").status_code == 404
    assert preview(client, "**hi**", slug="no-such-place").status_code == 404


def test_non_member_of_a_public_community_may_not_preview_there(client, world):
    client.force_login(world.outsider)
    response = preview(client, "**hi**")
    assert response.status_code == 403 and b"Join the community" in response.content


def test_preview_over_the_limit_answers_429_with_a_sentence(client, world, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "live_preview": ("2/60", "100/60")}
    client.force_login(world.member)
    assert preview(client, "one").status_code == 200
    assert preview(client, "two").status_code == 200
    refused = preview(client, "three")
    assert refused.status_code == 429 and refused["Retry-After"]
    assert "previewing faster than this site allows" in refused.content.decode()


def test_preview_costs_a_fixed_few_queries(client, world, django_assert_max_num_queries):
    client.force_login(world.member)
    # Session, user, the community with the membership, and the @mentions' people.
    with django_assert_max_num_queries(4):
        assert preview(client, "Hello @fern and @olive, **bold**").status_code == 200


# --- Mentions -------------------------------------------------------------------------------------


def test_mentions_offer_active_members_by_username_prefix(client, world):
    client.force_login(world.member)
    assert names(client.get("/c/commons/mentions/", {"q": "f"})) == ["fern"]
    assert names(client.get("/c/commons/mentions/", {"q": "OL"})) == ["olive"]


def test_mentions_match_display_name_words_in_any_case(client, world, make_user):
    someone = make_user("zed99", display_name="Amara Okafor")
    Membership.objects.create(user=someone, community=world.public)
    client.force_login(world.member)
    assert names(client.get("/c/commons/mentions/", {"q": "okaf"})) == ["zed99"]
    assert names(client.get("/c/commons/mentions/", {"q": "amara"})) == ["zed99"]
    answer = client.get("/c/commons/mentions/", {"q": "@Zed"}).json()
    assert answer == {"people": [{"username": "zed99", "name": "Amara Okafor"}]}


def test_mentions_leave_out_outsiders_pending_banned_inactive_and_oneself(client, world, make_user):
    gone = make_user("fernando", display_name="Fernando Gone", is_active=False)
    Membership.objects.create(user=gone, community=world.public)
    client.force_login(world.member)
    assert names(client.get("/c/commons/mentions/", {"q": "o"})) == ["olive"]  # not otto (outsider)
    assert names(client.get("/c/commons/mentions/", {"q": "p"})) == []  # pat is pending
    assert names(client.get("/c/commons/mentions/", {"q": "b"})) == []  # bo is banned
    assert names(client.get("/c/commons/mentions/", {"q": "fern"})) == ["fern"]  # not fernando (inactive)
    assert names(client.get("/c/commons/mentions/", {"q": "mi"})) == []  # mira asks


def test_mentions_offer_at_most_eight(client, world, make_user):
    for i in range(12):
        Membership.objects.create(user=make_user(f"kit{i:02d}"), community=world.public)
    client.force_login(world.member)
    assert names(client.get("/c/commons/mentions/", {"q": "kit"})) == [f"kit{i:02d}" for i in range(8)]


def test_outsider_of_a_private_community_gets_404_for_its_people(client, world):
    client.force_login(world.outsider)
    assert client.get("/c/circle/mentions/", {"q": "f"}).status_code == 404
    assert client.get("/c/circle/mentions/", {"q": ""}).status_code == 404
    assert client.get("/c/nowhere/mentions/", {"q": "f"}).status_code == 404
    client.force_login(world.member)
    assert names(client.get("/c/circle/mentions/", {"q": "f"})) == ["fern"]


def test_visitor_gets_no_people(client, world):
    assert client.get("/c/commons/mentions/", {"q": "f"}).status_code == 403


def test_hostile_mention_queries_find_no_one(client, world):
    client.force_login(world.member)
    for q in ["", "%", "_", "f%", "' OR 1=1 --", "<script>", "x" * 41, "a b"]:
        assert names(client.get("/c/commons/mentions/", {"q": q})) == [], q


def test_mentions_over_the_limit_answer_429(client, world, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "mention": ("2/60", "100/60")}
    client.force_login(world.member)
    assert client.get("/c/commons/mentions/", {"q": "f"}).status_code == 200
    assert client.get("/c/commons/mentions/", {"q": "fe"}).status_code == 200
    refused = client.get("/c/commons/mentions/", {"q": "fer"})
    assert refused.status_code == 429 and refused["Retry-After"]


def test_mentions_cost_two_queries_the_signed_in_person_and_the_suggestions(
    client, world, make_user, django_assert_max_num_queries
):
    for i in range(20):
        Membership.objects.create(user=make_user(f"kit{i:02d}"), community=world.public)
    client.force_login(world.member)
    # The session comes from the cache (cached_db sessions); the signed-in person is one query,
    # and the community, the reader's right to see it and the people are the other.
    with django_assert_max_num_queries(2):
        assert len(names(client.get("/c/commons/mentions/", {"q": "kit"}))) == 8
    with django_assert_max_num_queries(2):
        assert client.get("/c/circle/mentions/", {"q": "f"}).status_code == 200
