"""The anonymous page cache: fast repeat views, never a stale or private page."""

from __future__ import annotations

import pytest
from django.test import Client

from communities import services as community_services
from communities.models import Community
from discussions import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run the writes' on-commit hooks (generation bumps) as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def anon_get(path: str):
    return Client().get(path)  # a fresh, cookie-less visitor each time, like a crawler or wrk


def test_second_anonymous_view_is_served_from_the_cache_with_the_same_headers(world, conversation):
    url = conversation.thread.get_absolute_url()
    first, second = anon_get(url), anon_get(url)
    assert first["X-Page-Cache"] == "miss" and second["X-Page-Cache"] == "hit"
    assert first.content == second.content
    for header in ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy"):
        assert second.has_header(header), header
    assert not second.cookies


def _private(world):
    community = Community.objects.get(pk=world.public.pk)
    community.visibility = Community.Visibility.PRIVATE
    community.save()


def _rename(world):
    world.facilitator.display_name = "Fern Renamed"
    world.facilitator.save()


# change → (the write, what the next anonymous visitor must see)
CHANGES = {
    "reply": (
        lambda w, c: services.reply(w.owner, c.thread, "Fresh reply text"),
        lambda w, c, get: "Fresh reply text" in get(c.url) and "3 replies" in get("/c/commons/"),
    ),
    "edit": (
        lambda w, c: services.edit_post(w.facilitator, c.answer, "Edited answer text"),
        lambda w, c, get: "Edited answer text" in get(c.url),
    ),
    "hide": (
        lambda w, c: services.hide_post(w.owner, c.answer, "off topic"),
        lambda w, c, get: "abbey" not in get(c.url) and "This post is hidden by a facilitator." in get(c.url),
    ),
    "pin": (
        lambda w, c: (
            services.start_thread(w.member, w.public, title="Newer thread", body="x"),
            services.set_thread_state(w.owner, c.thread, "pin"),
        ),
        lambda w, c, get: get("/c/commons/").index("How do you assess pain") < get("/c/commons/").index("Newer thread"),
    ),
    "move": (
        lambda w, c: services.move_thread(w.owner, c.thread, w.private),
        # Now in a private community: gone for anonymous visitors, at the old address and in the list.
        lambda w, c, get: get(c.url) == 404 and "How do you assess pain" not in get("/c/commons/"),
    ),
    "join": (
        lambda w, c: community_services.join(w.outsider, w.public),
        lambda w, c, get: "4 members" in get("/c/"),
    ),
    "helpful": (
        lambda w, c: services.toggle_helpful(w.member, c.answer),
        lambda w, c, get: "1 found this helpful" in get(c.url),
    ),
    "community_private": (
        lambda w, c: _private(w),
        lambda w, c, get: get(c.url) == 404 and get("/c/commons/") == 404 and "Ward Commons" not in get("/c/"),
    ),
    "profile_name": (
        lambda w, c: _rename(w),
        lambda w, c, get: "Fern Renamed" in get(c.url),
    ),
}


def _body_or_status(path: str):
    response = anon_get(path)
    return response.content.decode() if response.status_code == 200 else response.status_code


@pytest.mark.parametrize("change", list(CHANGES))
def test_every_write_that_shows_is_visible_to_the_next_anonymous_request(world, conversation, change, committed):
    conversation.url = conversation.thread.get_absolute_url()
    for url in (conversation.url, "/c/commons/", "/c/"):
        anon_get(url)
        assert anon_get(url)["X-Page-Cache"] == "hit"
    write, visible = CHANGES[change]
    with committed():
        write(world, conversation)
    assert visible(world, conversation, _body_or_status)


def test_logged_in_and_flash_message_requests_bypass_the_cache(client, world, conversation):
    url = conversation.thread.get_absolute_url()
    anon_get(url)
    client.force_login(world.member)
    response = client.get(url)
    assert not response.has_header("X-Page-Cache")
    assert "Mira Member" in response.content.decode()


def test_pages_with_forms_are_not_cached(world):
    first = anon_get("/accounts/login/")
    assert "X-Page-Cache" not in first and first.cookies.get("csrftoken")
    assert not anon_get("/accounts/login/").has_header("X-Page-Cache")


def test_cache_can_be_switched_off(world, conversation, settings):
    settings.PAGE_CACHE_SECONDS = 0
    url = conversation.thread.get_absolute_url()
    anon_get(url)
    assert not anon_get(url).has_header("X-Page-Cache")


def test_a_page_rendered_before_a_write_is_never_served_after_it(world, conversation, committed, monkeypatch):
    """The race: a visitor's page renders while a reply commits, and is stored after the bump."""
    from copsite import pagecache

    url = conversation.thread.get_absolute_url()
    render = pagecache.AnonymousPageCacheMiddleware.__call__

    def reply_commits_mid_render(self, request):
        inner = self.get_response

        def get_response(request):
            response = inner(request)  # the old page, generations read before the write
            with committed():
                services.reply(world.owner, conversation.thread, "Reply that raced the render")
            return response

        self.get_response = get_response
        try:
            return render(self, request)
        finally:
            self.get_response = inner

    monkeypatch.setattr(pagecache.AnonymousPageCacheMiddleware, "__call__", reply_commits_mid_render)
    raced = anon_get(url)
    assert raced["X-Page-Cache"] == "miss" and b"Reply that raced the render" not in raced.content
    monkeypatch.undo()
    after = anon_get(url)
    assert after["X-Page-Cache"] == "miss" and b"Reply that raced the render" in after.content
    assert anon_get(url)["X-Page-Cache"] == "hit"
