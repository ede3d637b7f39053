"""The optional spam check, against a small local server that speaks Akismet's comment-check protocol."""

from __future__ import annotations

import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from discussions.models import Post, Thread
from notifications.models import Notification

pytestmark = pytest.mark.django_db

KEY = "test-key-123"


class FakeAkismet:
    """``answer`` is what comment-check says next: spam, ham, discard, malformed or slow."""

    def __init__(self) -> None:
        self.answer = "ham"
        self.calls: list[dict[str, str]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                fake.calls.append({"path": self.path, "content_type": self.headers["Content-Type"], **form})
                headers, body = {}, "false"
                if fake.answer == "spam":
                    body = "true"
                elif fake.answer == "discard":
                    body, headers = "true", {"X-akismet-pro-tip": "discard"}
                elif fake.answer == "malformed":
                    body, headers = "invalid", {"X-akismet-debug-help": "Empty 'blog' value"}
                elif fake.answer == "slow":
                    time.sleep(3)
                self.send_response(200)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/1.1/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def akismet(settings):
    fake = FakeAkismet()
    settings.AKISMET_API_KEY = KEY
    settings.AKISMET_URL = fake.url
    settings.AKISMET_TIMEOUT_SECONDS = 1
    yield fake
    fake.stop()


def reply(client, thread, body: str):
    return client.post(
        thread.get_absolute_url() + "reply/",
        {"body": body},
        HTTP_USER_AGENT="Mozilla/5.0 (test)",
        HTTP_REFERER="https://forum.example.org/c/commons/",
        REMOTE_ADDR="203.0.113.7",
    )


def test_spam_check_is_off_without_a_key(client, world, conversation, settings):
    fake = FakeAkismet()
    try:
        settings.AKISMET_API_KEY = ""
        settings.AKISMET_URL = fake.url
        client.force_login(world.member)
        reply(client, conversation.thread, "No check at all.")
    finally:
        fake.stop()
    assert fake.calls == []
    assert Post.objects.get(body="No check at all.").state == "visible"


def test_ham_is_published_and_the_service_gets_the_comment_check_fields(client, world, conversation, akismet, settings):
    client.force_login(world.member)
    response = reply(client, conversation.thread, "Try the abbey scale at night.")
    assert response.status_code == 302
    post = Post.objects.get(body="Try the abbey scale at night.")
    assert post.state == "visible"
    [call] = akismet.calls
    assert call["path"] == "/1.1/comment-check"
    assert call["content_type"] == "application/x-www-form-urlencoded"
    assert call["api_key"] == KEY and call["blog"] == settings.SITE_URL
    assert call["user_ip"] == "203.0.113.7"
    assert call["user_agent"] == "Mozilla/5.0 (test)"
    assert call["referrer"] == "https://forum.example.org/c/commons/"
    assert call["comment_type"] == "forum-post"
    assert call["comment_author"] == world.member.username
    assert call["comment_author_email"] == world.member.email
    assert call["comment_content"] == "Try the abbey scale at night."


@pytest.mark.parametrize("answer", ["spam", "discard"])
def test_spam_is_held_for_a_facilitator_not_published(client, world, conversation, akismet, answer):
    akismet.answer = answer
    client.force_login(world.member)
    response = reply(client, conversation.thread, f"Cheap pills @{world.facilitator.username} ({answer})")
    assert response.status_code == 302
    post = Post.objects.get(body__startswith="Cheap pills")
    assert post.is_held
    assert "A facilitator will look at your post" in client.get(response["Location"]).content.decode()
    # The mention waits for approval: only the facilitators are told, that it waits for them.
    assert set(Notification.objects.filter(post=post).values_list("user__username", "kind")) == {
        ("fern", "held"),
        ("olive", "held"),
    }
    client.force_login(world.outsider)
    assert "Cheap pills" not in client.get(conversation.thread.get_absolute_url()).content.decode()
    client.force_login(world.facilitator)
    assert "Cheap pills" in client.get("/c/commons/facilitate/").content.decode()


def test_spam_verdict_on_a_new_thread_hides_the_whole_thread(client, world, akismet):
    akismet.answer = "spam"
    client.force_login(world.member)
    client.post("/c/commons/threads/new/", {"title": "Buy now", "kind": "discussion", "body": "Great offer"})
    thread = Thread.objects.get(title="Buy now")
    assert thread.held_at is not None
    assert "Buy now" in akismet.calls[0]["comment_content"]
    client.logout()
    assert client.get(thread.get_absolute_url()).status_code == 404
    assert "Buy now" not in client.get("/c/commons/").content.decode()


@pytest.mark.parametrize("answer", ["malformed", "slow"])
def test_a_broken_or_slow_service_lets_the_post_through_and_says_so_in_the_log(
    client, world, conversation, akismet, caplog, answer
):
    akismet.answer = answer
    client.force_login(world.member)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="core.spam"):
        response = reply(client, conversation.thread, f"Ordinary reply ({answer})")
    assert time.monotonic() - started < 2.5  # the 1 s timeout, not the server's 3 s
    assert response.status_code == 302
    assert Post.objects.get(body=f"Ordinary reply ({answer})").state == "visible"
    assert "letting the post through" in caplog.text


def test_an_unreachable_service_lets_the_post_through(client, world, conversation, settings, caplog):
    fake = FakeAkismet()
    fake.stop()  # nothing listens on its port any more
    settings.AKISMET_API_KEY, settings.AKISMET_URL = KEY, fake.url
    client.force_login(world.member)
    with caplog.at_level(logging.WARNING, logger="core.spam"):
        reply(client, conversation.thread, "Still posted.")
    assert Post.objects.get(body="Still posted.").state == "visible"
    assert "spam check unavailable" in caplog.text


def test_facilitators_are_never_held_even_when_the_service_says_spam(client, world, conversation, akismet):
    akismet.answer = "spam"
    client.force_login(world.facilitator)
    reply(client, conversation.thread, "Facilitator note with https://a.example https://b.example https://c.example")
    assert Post.objects.get(body__startswith="Facilitator note").state == "visible"
