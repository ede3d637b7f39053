"""Abuse controls: limits per person and per address, the 429 page, holds for review, no account enumeration."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from accounts.models import User
from core.models import OutboundEmail
from discussions import services
from discussions.models import Post, Reaction, Thread
from notifications.models import Notification
from tests import factories
from tests.accounts import LOGIN, SIGNUP, signup_data

pytestmark = pytest.mark.django_db

HOME_IP, OTHER_IP = "198.51.100.10", "198.51.100.20"
RESET = "/accounts/password/reset/"
LINKS = "See https://a.example/x, https://b.example/y and https://c.example/z for cheap offers."


# --- Rate limits: every action, per person and per address ---------------------------------


@dataclass
class Action:
    """One limited action: how to do it the ``n``-th time, who may do it, and the text that must survive a 429."""

    name: str
    do: Callable
    people: tuple[str, str]
    typed: Callable[[int], str] | None = None
    htmx: bool = False


def _thread(client, w, c, n, **extra):
    data = {"title": f"Typed title {n}", "kind": "discussion", "body": f"typed thread body {n}"}
    return client.post("/c/commons/threads/new/", data, **extra)


def _reply(client, w, c, n, **extra):
    return client.post(c.thread.get_absolute_url() + "reply/", {"body": f"typed reply body {n}"}, **extra)


def _edit(client, w, c, n, **extra):
    data = {"body": f"typed edit body {n}", "title": c.thread.title}
    return client.post(f"/p/{c.opening.pk}/edit/", data, **extra)


def _preview_thread(client, w, c, n, **extra):
    data = {"title": f"Typed title {n}", "kind": "discussion", "body": f"typed preview body {n}", "preview": "1"}
    return client.post("/c/commons/threads/new/", data, **extra)


def _preview_reply(client, w, c, n, **extra):
    data = {"body": f"typed preview reply {n}", "preview": "1"}
    return client.post(c.thread.get_absolute_url() + "reply/", data, **extra)


def _preview_inline_reply(client, w, c, n, **extra):
    """The reply form under a post, sent by htmx: a refusal is one sentence, the form stays as typed."""
    data = {"parent": c.answer.pk, f"to{c.answer.pk}-body": f"typed inline preview {n}", "preview": "1"}
    return client.post(c.thread.get_absolute_url() + "reply/", data, HTTP_HX_REQUEST="true", **extra)


def _preview_edit(client, w, c, n, **extra):
    data = {"body": f"typed preview edit {n}", "title": c.thread.title, "preview": "1"}
    return client.post(f"/p/{c.opening.pk}/edit/", data, **extra)


def _helpful(client, w, c, n, **extra):
    return client.post(f"/p/{c.answer.pk}/helpful/", HTTP_HX_REQUEST="true", **extra)


def _flag(client, w, c, n, **extra):
    return client.post(f"/p/{c.answer.pk}/flag/", {"reason": f"typed flag reason {n}"}, **extra)


def _invite(client, w, c, n, **extra):
    data = {"email": f"guest{n}@example.org", "message": f"typed invitation note {n}"}
    return client.post("/c/circle/facilitate/invite/", data, **extra)


def _search(client, w, c, n, **extra):
    return client.get("/search/", {"q": f"typed query {n}"}, **extra)


def _resource(client, w, c, n, **extra):
    data = {"kind": "link", "title": f"Typed resource {n}", "url": f"https://example.org/{n}"}
    return client.post("/c/commons/library/add/", data, **extra)


ACTIONS = [
    Action("post", _thread, ("member", "facilitator"), lambda n: f"typed thread body {n}"),
    Action("post", _reply, ("member", "facilitator"), lambda n: f"typed reply body {n}"),
    Action("post", _edit, ("member", "facilitator"), lambda n: f"typed edit body {n}"),
    Action("preview", _preview_thread, ("member", "facilitator"), lambda n: f"typed preview body {n}"),
    Action("preview", _preview_reply, ("member", "facilitator"), lambda n: f"typed preview reply {n}"),
    Action("preview", _preview_inline_reply, ("member", "facilitator"), htmx=True),
    Action("preview", _preview_edit, ("member", "facilitator"), lambda n: f"typed preview edit {n}"),
    Action("react", _helpful, ("member", "owner"), htmx=True),
    Action("flag", _flag, ("member", "owner"), lambda n: f"typed flag reason {n}"),
    Action("invite", _invite, ("facilitator", "owner"), lambda n: f"typed invitation note {n}"),
    Action("search", _search, ("member", "outsider"), lambda n: f"typed query {n}"),
    Action("resource", _resource, ("member", "facilitator"), lambda n: f"Typed resource {n}"),
]


def _limit(settings, action: str, person: str, address: str) -> None:
    """Set one action's limits (hour-long windows, so a test never straddles a window's end)."""
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, action: (person, address)}
    if action == "post":  # posting reads its per-person budget from these two
        settings.POST_RATE_LIMIT = settings.NEW_ACCOUNT_POST_RATE_LIMIT = person


def _assert_refused(response, action: Action, n: int) -> None:
    assert response.status_code == 429, (action.do.__name__, response.status_code)
    assert int(response["Retry-After"]) > 0
    text = response.content.decode()
    if action.htmx:
        assert response["Content-Type"].startswith("text/plain")
        assert "faster than this site allows" in text
    else:
        assert "faster than this site allows" in text and 'role="alert"' in text
        assert action.typed(n) in text, "the 429 answer keeps what was typed"


@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.do.__name__.strip("_"))
def test_same_person_from_another_address_is_still_limited(client, world, conversation, settings, action):
    _limit(settings, action.name, "1/3600", "100/3600")
    client.force_login(getattr(world, action.people[0]))
    assert action.do(client, world, conversation, 1, REMOTE_ADDR=HOME_IP).status_code < 400
    _assert_refused(action.do(client, world, conversation, 2, REMOTE_ADDR=OTHER_IP), action, 2)


@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.do.__name__.strip("_"))
def test_another_person_from_the_same_address_is_limited(client, world, conversation, settings, action):
    _limit(settings, action.name, "100/3600", "1/3600")
    client.force_login(getattr(world, action.people[0]))
    assert action.do(client, world, conversation, 1, REMOTE_ADDR=HOME_IP).status_code < 400
    client.force_login(getattr(world, action.people[1]))
    _assert_refused(action.do(client, world, conversation, 2, REMOTE_ADDR=HOME_IP), action, 2)
    # Someone else, somewhere else, is not affected.
    assert action.do(client, world, conversation, 3, REMOTE_ADDR=OTHER_IP).status_code < 400


def test_refused_actions_change_nothing(client, world, conversation, settings):
    for name in ("post", "react", "flag"):
        _limit(settings, name, "0/3600", "0/3600")
    client.force_login(world.member)
    before = (Post.objects.count(), Reaction.objects.count(), Thread.objects.count())
    assert _reply(client, world, conversation, 1).status_code == 429
    assert _thread(client, world, conversation, 1).status_code == 429
    assert _helpful(client, world, conversation, 1).status_code == 429
    assert _flag(client, world, conversation, 1).status_code == 429
    assert (Post.objects.count(), Reaction.objects.count(), Thread.objects.count()) == before
    assert not conversation.answer.flags.exists()


def test_previews_and_posts_over_their_limit_render_no_markdown(client, world, conversation, settings, monkeypatch):
    """Rendering is what hostile Markdown makes expensive: a refused submission never gets that far."""
    from discussions import forms

    rendered = []
    real = forms.render_post
    monkeypatch.setattr(forms, "render_post", lambda body: rendered.append(body) or real(body))
    _limit(settings, "preview", "1/3600", "100/3600")
    client.force_login(world.member)
    assert "typed preview body 1" in _preview_thread(client, world, conversation, 1).content.decode()
    assert rendered == ["typed preview body 1"]
    refused = _preview_thread(client, world, conversation, 2)
    assert refused.status_code == 429 and "previewing faster than this site allows" in refused.content.decode()
    assert _preview_inline_reply(client, world, conversation, 3).status_code == 429
    assert rendered == ["typed preview body 1"]
    # Previews and posts have budgets of their own: posting still works, and renders once.
    assert _thread(client, world, conversation, 4).status_code == 302
    assert rendered == ["typed preview body 1", "typed thread body 4"]
    _limit(settings, "post", "0/3600", "0/3600")
    assert _reply(client, world, conversation, 5).status_code == 429
    assert len(rendered) == 2


def test_address_limit_defaults_to_five_times_the_persons(client, world, conversation, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "search": ("1/3600", None)}
    people = [world.member, world.outsider, world.owner, world.facilitator, world.pending, world.banned]
    for n, person in enumerate(people):
        client.force_login(person)
        response = _search(client, world, conversation, n, REMOTE_ADDR=HOME_IP)
        assert response.status_code == (429 if n == 5 else 200), n


# --- allauth's limits: sign-up, login, password reset ------------------------------------------


def test_signup_over_the_address_limit_gets_a_429_page_that_keeps_what_was_typed(client, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "signup": "1/m/ip"}
    client.post(SIGNUP, signup_data(email="first@example.org", username="first"))
    client.logout()
    response = client.post(SIGNUP, signup_data(email="second@example.org", username="second"))
    html = response.content.decode()
    assert response.status_code == 429 and response["Retry-After"] == "60"
    assert "Too many attempts" in html and 'role="alert"' in html
    assert 'value="second@example.org"' in html and 'value="second"' in html and 'value="New Comer"' in html
    assert "correct horse" not in html, "passwords are never echoed"
    # The handed-back form posts to the sign-up page again, with a CSRF token.
    assert 'action="/accounts/signup/"' in html and "csrfmiddlewaretoken" in html
    assert not User.objects.filter(username="second").exists()


def test_logins_over_the_address_limit_get_a_429_that_keeps_the_email(client, member, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login": "2/m/ip"}
    for _ in range(2):
        client.post(LOGIN, {"login": member.email, "password": "wrong password"})
    response = client.post(LOGIN, {"login": member.email, "password": "correct horse battery"})
    assert response.status_code == 429
    assert f'value="{member.email}"' in response.content.decode()
    assert "correct horse battery" not in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_password_resets_for_one_address_are_limited_per_email_across_ip_addresses(client, member, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "reset_password": "20/m/ip,1/m/key"}
    client.post(RESET, {"email": member.email}, REMOTE_ADDR=HOME_IP)
    response = client.post(RESET, {"email": member.email}, REMOTE_ADDR=OTHER_IP)
    assert response.status_code == 429 and "Too many attempts" in response.content.decode()
    assert f'value="{member.email}"' in response.content.decode()
    # The same answer for an address nobody has: the limit counts the typed email, not an account.
    client.post(RESET, {"email": "nobody@example.org"}, REMOTE_ADDR=HOME_IP)
    assert client.post(RESET, {"email": "nobody@example.org"}, REMOTE_ADDR=OTHER_IP).status_code == 429
    assert OutboundEmail.objects.filter(to=member.email).count() == 1


# --- No account enumeration ----------------------------------------------------------------------


# Form fields and htmx headers carry a CSRF token that differs per request.
CSRF_TOKEN = re.compile(r'((?:name="csrfmiddlewaretoken" value="|"X-CSRFToken": "))[^"]+')


def _same_page(a: str, b: str) -> bool:
    """Equal once CSRF tokens are blanked."""
    return CSRF_TOKEN.sub(r"\1", a) == CSRF_TOKEN.sub(r"\1", b)


def test_signup_with_a_taken_email_answers_exactly_like_a_fresh_one(client, make_user):
    make_user("existing", email="taken@example.org")
    fresh = client.post(SIGNUP, signup_data(email="fresh@example.org", username="fresh"), follow=True)
    client.logout()
    taken = client.post(SIGNUP, signup_data(email="taken@example.org", username="other"), follow=True)
    assert fresh.redirect_chain == taken.redirect_chain
    assert fresh.status_code == taken.status_code == 200
    # Only the address each person typed differs ("Confirmation email sent to …").
    page_fresh = fresh.content.decode().replace("fresh@example.org", "EMAIL")
    page_taken = taken.content.decode().replace("taken@example.org", "EMAIL")
    assert _same_page(page_fresh, page_taken)
    # The owner of the taken address hears about the attempt; no second account exists.
    assert OutboundEmail.objects.filter(to="taken@example.org").exists()
    assert not User.objects.filter(username="other").exists()


def test_login_with_an_unknown_email_answers_exactly_like_a_wrong_password(client, member):
    unknown = client.post(LOGIN, {"login": "nobody@example.org", "password": "wrong password"})
    known = client.post(LOGIN, {"login": member.email, "password": "wrong password"})
    assert unknown.status_code == known.status_code == 200
    page_unknown = unknown.content.decode().replace("nobody@example.org", "EMAIL")
    page_known = known.content.decode().replace(member.email, "EMAIL")
    assert _same_page(page_unknown, page_known)


def test_login_takes_as_long_for_an_unknown_email_as_for_a_wrong_password(client, make_user, settings):
    """With the production hasher, an unknown address still costs one password hash (no timing oracle)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    person = make_user("timed", email="timed@example.org")

    def fastest(email: str) -> float:
        times = []
        for _ in range(3):
            started = time.perf_counter()
            client.post(LOGIN, {"login": email, "password": "wrong password"})
            times.append(time.perf_counter() - started)
        return min(times)

    known, unknown = fastest(person.email), fastest("nobody@example.org")
    assert unknown > known / 3 and known > unknown / 3, (known, unknown)


def test_password_reset_answers_the_same_for_known_and_unknown_addresses(client, member):
    known = client.post(RESET, {"email": member.email}, follow=True)
    unknown = client.post(RESET, {"email": "nobody@example.org"}, follow=True)
    assert known.redirect_chain == unknown.redirect_chain and known.status_code == unknown.status_code == 200
    assert _same_page(known.content.decode(), unknown.content.decode())
    # Only the real owner gets a reset link.
    assert "password/reset/key" in OutboundEmail.objects.get(to=member.email).body_text
    assert "password/reset/key" not in "".join(
        OutboundEmail.objects.filter(to="nobody@example.org").values_list("body_text", flat=True)
    )


# --- New members' link-heavy posts wait for a facilitator -------------------------------------------


@pytest.fixture
def newcomer(world, make_user):
    person = make_user("nell", display_name="Nell Newcomer")
    factories.membership(person, world.public)
    return person


def test_a_newcomers_reply_with_many_links_is_held_and_seen_only_by_author_and_facilitators(
    client, world, conversation, newcomer
):
    client.force_login(newcomer)
    response = client.post(conversation.thread.get_absolute_url() + "reply/", {"body": f"@mira {LINKS}"}, follow=True)
    assert "A facilitator will look at your post" in response.content.decode()
    post = Post.objects.get(author=newcomer)
    assert post.is_held
    page = client.get(conversation.thread.get_absolute_url()).content.decode()
    assert "cheap offers" in page and "Waiting for a facilitator to review this post" in page
    # Nobody notified but the facilitators (it waits for them), nothing to find for anyone else.
    assert set(Notification.objects.filter(post=post).values_list("kind", flat=True)) == {"held"}
    assert not Notification.objects.filter(post=post, user=world.member).exists()
    for viewer in (world.member, world.outsider, None):
        client.logout()
        if viewer:
            client.force_login(viewer)
        assert "cheap offers" not in client.get(conversation.thread.get_absolute_url()).content.decode()
        assert "cheap offers" not in client.get("/search/", {"q": "offers"}).content.decode()
    client.force_login(world.facilitator)
    dashboard = client.get("/c/commons/facilitate/").content.decode()
    assert "Waiting for review (1)" in dashboard and "cheap offers" in dashboard


def test_approving_a_held_reply_publishes_it_notifies_and_refreshes_the_cached_page(
    client, world, conversation, newcomer, settings, django_capture_on_commit_callbacks
):
    settings.PAGE_CACHE_SECONDS = 300
    post = services.reply(newcomer, conversation.thread, f"@mira {LINKS}")
    assert post.is_held
    url = conversation.thread.get_absolute_url()
    client.get(url)
    cached = client.get(url)
    assert cached["X-Page-Cache"] == "hit" and "cheap offers" not in cached.content.decode()
    client.force_login(world.facilitator)
    with django_capture_on_commit_callbacks(execute=True):  # the cache generation moves after commit
        response = client.post(f"/p/{post.pk}/approve/", {"back": "dashboard"})
    assert response["Location"].endswith("/c/commons/facilitate/#held-heading")
    post.refresh_from_db()
    assert post.state == "visible"
    assert Notification.objects.filter(post=post, user=world.member, kind=Notification.Kind.MENTION).exists()
    client.logout()
    fresh = client.get(url)
    assert fresh["X-Page-Cache"] == "miss" and "cheap offers" in fresh.content.decode()
    assert "Waiting for review (0)" in _dashboard(client, world)


def _dashboard(client, world) -> str:
    client.force_login(world.facilitator)
    return client.get("/c/commons/facilitate/").content.decode()


def test_turning_a_held_post_down_keeps_it_hidden_and_tells_the_author(client, world, conversation, newcomer):
    post = services.reply(newcomer, conversation.thread, LINKS)
    client.force_login(world.facilitator)
    client.post(f"/p/{post.pk}/reject/")
    post.refresh_from_db()
    assert post.state == "hidden"
    assert Notification.objects.filter(post=post, user=newcomer, kind=Notification.Kind.HIDDEN).exists()
    client.force_login(newcomer)
    assert "Not approved by a facilitator" in client.get(conversation.thread.get_absolute_url()).content.decode()
    client.force_login(world.member)
    assert "cheap offers" not in client.get(conversation.thread.get_absolute_url()).content.decode()


def test_turning_down_asks_first_and_the_author_reads_the_reason_given(client, world, conversation, newcomer):
    post = services.reply(newcomer, conversation.thread, LINKS)
    client.force_login(world.facilitator)
    page = client.get(f"/p/{post.pk}/reject/?back=dashboard").content.decode()
    assert "Turn down this held post?" in page and "cheap offers" in page
    assert 'name="back" value="dashboard"' in page and 'href="/c/commons/facilitate/#held-heading"' in page
    post.refresh_from_db()
    assert post.state == Post.State.HELD  # asking changes nothing
    response = client.post(f"/p/{post.pk}/reject/", {"reason": "Links to a shop, not practice.", "back": "dashboard"})
    assert response["Location"] == "/c/commons/facilitate/#held-heading"
    post.refresh_from_db()
    assert post.state == Post.State.HIDDEN and post.hidden_reason == "Links to a shop, not practice."
    client.force_login(newcomer)
    assert "Links to a shop, not practice." in client.get(conversation.thread.get_absolute_url()).content.decode()


@pytest.mark.parametrize("reason", ["x" * 501, "two\nlines<script>alert(1)</script>" + "y" * 500])
def test_a_turn_down_reason_that_is_refused_keeps_what_was_typed_and_the_post_waits(
    client, world, conversation, newcomer, reason
):
    post = services.reply(newcomer, conversation.thread, LINKS)
    client.force_login(world.facilitator)
    response = client.post(f"/p/{post.pk}/reject/", {"reason": reason})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Ensure this value has at most 500 characters" in page and "<script>alert" not in page
    assert "y" * 400 in page or "x" * 501 in page
    post.refresh_from_db()
    assert post.state == Post.State.HELD


def test_members_cannot_even_open_the_turn_down_page(client, world, conversation, newcomer):
    post = services.reply(newcomer, conversation.thread, LINKS)
    for person in (world.member, newcomer):
        client.force_login(person)
        assert client.get(f"/p/{post.pk}/reject/").status_code == 403


def test_a_held_thread_is_invisible_until_approved(client, world, newcomer):
    client.force_login(newcomer)
    client.post("/c/commons/threads/new/", {"title": "Great deals", "kind": "discussion", "body": LINKS})
    thread = Thread.objects.get(title="Great deals")
    assert thread.held_at is not None
    assert "Great deals" in client.get("/c/commons/").content.decode()
    client.force_login(world.member)
    assert client.get(thread.get_absolute_url()).status_code == 404
    assert "Great deals" not in client.get("/c/commons/").content.decode()
    assert "Great deals" not in client.get("/c/commons/feeds/threads/").content.decode()
    client.force_login(world.facilitator)
    client.post(f"/p/{thread.opening_post_id}/approve/")
    client.force_login(world.member)
    assert client.get(thread.get_absolute_url()).status_code == 200
    assert "Great deals" in client.get("/c/commons/").content.decode()


def test_members_with_a_record_and_posts_with_few_links_are_not_held(world, conversation, newcomer, settings):
    assert services.reply(newcomer, conversation.thread, "One link: https://a.example").state == "visible"
    settings.HOLD_NEW_MEMBER_POSTS = 1
    assert services.reply(newcomer, conversation.thread, LINKS).state == "visible"
    assert services.reply(world.facilitator, conversation.thread, LINKS).state == "visible"


def test_a_newcomer_cannot_turn_a_published_post_into_link_spam_by_editing_it(
    client, world, conversation, newcomer, settings, django_capture_on_commit_callbacks
):
    settings.PAGE_CACHE_SECONDS = 300
    post = services.reply(newcomer, conversation.thread, "Thanks, the Abbey scale helped.")
    assert post.state == "visible"
    url = conversation.thread.get_absolute_url()
    client.get(url)  # a visitor's copy of the page is cached
    client.force_login(newcomer)
    with django_capture_on_commit_callbacks(execute=True):  # the cache generation moves after commit
        response = client.post(f"/p/{post.pk}/edit/", {"body": f"@mira {LINKS}"}, follow=True)
    assert "Your edit adds links" in response.content.decode()
    post.refresh_from_db()
    assert post.is_held and "cheap offers" in post.body
    assert post.revisions.get().body == "Thanks, the Abbey scale helped."
    mention = Notification.objects.filter(post=post, user=world.member, kind=Notification.Kind.MENTION)
    assert not mention.exists()  # the mention waits too
    for viewer in (world.member, None):
        client.logout()
        if viewer:
            client.force_login(viewer)
        page = client.get(url).content.decode()
        assert "cheap offers" not in page and "Abbey scale helped" not in page
        assert "cheap offers" not in client.get("/search/", {"q": "offers"}).content.decode()
    assert "Waiting for review (1)" in _dashboard(client, world)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/p/{post.pk}/approve/")
    assert Notification.objects.filter(post=post, user=world.member, kind=Notification.Kind.MENTION).exists()
    client.logout()
    assert "cheap offers" in client.get(url).content.decode()


def test_edits_that_add_no_links_or_come_from_a_facilitator_are_not_held(world, conversation, newcomer):
    post = services.reply(newcomer, conversation.thread, LINKS)  # held, then approved as it is
    services.approve_post(world.facilitator, post)
    # Rewording an approved post keeps its links: nothing new to review.
    assert services.edit_post(newcomer, post, LINKS.replace("cheap", "good")).state == "visible"
    assert services.edit_post(newcomer, post, "Just text now.").state == "visible"
    plain = services.reply(newcomer, conversation.thread, "Plain.")
    assert services.edit_post(newcomer, plain, "One link: https://a.example").state == "visible"
    assert services.edit_post(world.facilitator, plain, LINKS).state == "visible"  # facilitators are trusted


def test_only_facilitators_may_approve_and_only_while_a_post_waits(client, world, conversation, newcomer):
    post = services.reply(newcomer, conversation.thread, LINKS)
    for person in (world.member, newcomer):
        client.force_login(person)
        assert client.post(f"/p/{post.pk}/approve/").status_code == 403
    client.force_login(world.facilitator)
    client.post(f"/p/{post.pk}/approve/")
    assert client.post(f"/p/{post.pk}/reject/").status_code == 403
    post.refresh_from_db()
    assert post.state == Post.State.VISIBLE
