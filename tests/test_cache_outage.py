"""With Redis (the cache) unreachable, people can still sign up, log in, read and post."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from discussions.models import Post
from tests.faults import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_down(settings):
    port = free_port()  # nothing listens here once the socket closes
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.ResilientRedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    assert cache.get("anything", "missed") == "missed"


def test_login_signup_reading_and_posting_work_without_the_cache(client, world, conversation, redis_down):
    response = client.post("/accounts/login/", {"login": world.member.email, "password": "correct horse battery"})
    assert response.status_code == 302
    page = client.get(conversation.thread.get_absolute_url())
    assert page.status_code == 200 and "How do you assess pain" in page.content.decode()
    response = client.post(conversation.thread.get_absolute_url() + "reply/", {"body": "Posted with Redis down"})
    assert response.status_code == 302
    assert Post.objects.filter(body="Posted with Redis down").exists()
    client.logout()
    password = "a slow river of tea"
    response = client.post(
        "/accounts/signup/",
        {"email": "new@example.org", "username": "newbie", "password1": password, "password2": password},
    )
    assert response.status_code == 302
    assert client.get("/c/").status_code == 200
