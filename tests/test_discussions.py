"""Threads and replies through the HTTP layer: posting, nesting, markdown, edits, reactions, moderation."""

from __future__ import annotations

import re

import pytest
from django.test import Client, override_settings

from communities.models import AuditEntry
from discussions import services
from discussions.models import Flag, Post, Reaction, Revision, Thread
from notifications.models import Notification
from tests import factories

pytestmark = pytest.mark.django_db


def test_member_starts_a_thread_with_markdown_and_tags(client, world):
    client.force_login(world.member)
    response = client.post(
        "/c/commons/threads/new/",
        {
            "title": "Night rounds",
            "kind": "story",
            "body": "We cut **call bells** by half!",
            "tags": "Sleep, rounds",
            "submission_key": "k1",
        },
    )
    thread = Thread.objects.get(title="Night rounds")
    assert response.status_code == 302 and response["Location"] == thread.get_absolute_url()
    page = client.get(thread.get_absolute_url()).content.decode()
    assert "<strong>call bells</strong>" in page
    assert sorted(t.name for t in thread.tags.all()) == ["rounds", "sleep"]
    assert "Story" in page
    community_page = client.get("/c/commons/").content.decode()
    assert "Night rounds" in community_page


def test_double_submitted_thread_form_makes_one_thread(client, world):
    client.force_login(world.member)
    data = {"title": "Once", "kind": "discussion", "body": "Only once", "submission_key": "same-key"}
    first = client.post("/c/commons/threads/new/", data)
    second = client.post("/c/commons/threads/new/", data)
    assert Thread.objects.filter(title="Once").count() == 1
    assert first["Location"] == second["Location"]


def test_bad_thread_input_shows_errors_and_keeps_text(client, world):
    client.force_login(world.member)
    response = client.post("/c/commons/threads/new/", {"title": "", "kind": "question", "body": "  ", "tags": "x" * 41})
    html = response.content.decode()
    assert response.status_code == 200
    assert "This field is required." in html and "Write something first." in html
    assert "Keep each tag under 40 characters." in html
    # Brackets need no limit of their own any more; length still has one, and the text stays in the form.
    response = client.post("/c/commons/threads/new/", {"title": "T", "kind": "question", "body": "[" * 20_001})
    page = response.content.decode().lower()
    assert "too long" in page or "at most" in page
    assert "[" * 100 in response.content.decode()
    assert not Thread.objects.filter(community=world.public).exists()


def test_preview_shows_rendered_markdown_without_posting(client, world):
    client.force_login(world.member)
    response = client.post(
        "/c/commons/threads/new/", {"title": "P", "kind": "discussion", "body": "_hello_", "preview": "1"}
    )
    assert "<em>hello</em>" in response.content.decode()
    assert not Thread.objects.exists()


def test_reply_to_a_reply_nests_and_says_whom_it_answers(client, world, conversation):
    client.force_login(world.member)
    response = client.post(
        conversation.thread.get_absolute_url() + "reply/",
        {f"to{conversation.nested.pk}-body": "Hourly is a lot on nights.", "parent": conversation.nested.pk},
    )
    post = Post.objects.get(body="Hourly is a lot on nights.")
    assert post.parent == conversation.nested and post.depth == 3
    assert post.path == conversation.nested.path + "000001"
    assert response["Location"].endswith(f"#post-{post.pk}")
    conversation.thread.refresh_from_db()
    assert conversation.thread.reply_count == 3
    assert conversation.thread.last_poster == world.member
    page = client.get(conversation.thread.get_absolute_url()).content.decode()
    order = [int(x) for x in re.findall(r'<li class="post[^"]*" id="post-(\d+)"', page)]
    assert order == [conversation.opening.pk, conversation.answer.pk, conversation.nested.pk, post.pk]
    assert 'class="post indent-2' in page


def test_mention_notifies_only_people_who_can_see_the_thread(client, world, conversation):
    client.force_login(world.member)
    client.post(conversation.thread.get_absolute_url() + "reply/", {"body": "@fern and @otto what do you think?"})
    post = Post.objects.get(body__startswith="@fern")
    assert 'href="/u/fern/"' in post.body_html and 'class="mention"' in post.body_html
    assert Notification.objects.filter(user=world.facilitator, post=post, kind="mention").exists()
    # Otto can read the public thread: notified too.
    assert Notification.objects.filter(user=world.outsider, post=post).exists()
    services.reply(world.member, conversation.private_thread, "@otto look at this case")
    assert not Notification.objects.filter(user=world.outsider, post__thread=conversation.private_thread).exists()


def test_reply_to_another_threads_post_is_refused_and_keeps_text(client, world, conversation):
    other = services.start_thread(world.member, world.public, title="Other", body="other")
    client.force_login(world.member)
    response = client.post(
        conversation.thread.get_absolute_url() + "reply/", {"body": "misplaced", "parent": other.opening_post.pk}
    )
    assert response.status_code == 404
    assert not Post.objects.filter(body="misplaced").exists()


def test_reply_to_a_deleted_post_is_a_clear_error(client, world, conversation):
    services.delete_post(world.facilitator, conversation.answer)
    client.force_login(world.member)
    response = client.post(
        conversation.thread.get_absolute_url() + "reply/",
        {f"to{conversation.answer.pk}-body": "still there?", "parent": conversation.answer.pk},
    )
    html = response.content.decode()
    assert "has been deleted" in html and "still there?" in html
    assert not Post.objects.filter(body="still there?").exists()


def test_locked_thread_takes_no_replies(client, world, conversation):
    services.set_thread_state(world.facilitator, conversation.thread, "lock")
    client.force_login(world.member)
    page = client.get(conversation.thread.get_absolute_url()).content.decode()
    assert "This thread is locked" in page
    response = client.post(conversation.thread.get_absolute_url() + "reply/", {"body": "late"})
    assert response.status_code == 403
    assert not Post.objects.filter(body="late").exists()


def test_double_submitted_reply_makes_one_post(client, world, conversation):
    client.force_login(world.member)
    data = {"body": "just once", "submission_key": "abc"}
    client.post(conversation.thread.get_absolute_url() + "reply/", data)
    client.post(conversation.thread.get_absolute_url() + "reply/", data)
    assert Post.objects.filter(body="just once").count() == 1
    conversation.thread.refresh_from_db()
    assert conversation.thread.reply_count == 3


def test_permalink_lands_on_the_right_page(client, world, conversation, settings):
    settings.POSTS_PER_PAGE = 2
    response = client.get(f"/p/{conversation.nested.pk}/")
    assert response["Location"] == f"{conversation.thread.get_absolute_url()}?page=2#post-{conversation.nested.pk}"
    page2 = client.get(conversation.thread.get_absolute_url() + "?page=2").content.decode()
    assert f'id="post-{conversation.nested.pk}"' in page2
    # The page says whom the first post answers, since its parent is on page 1.
    assert "replying to" in page2


def test_author_edits_and_the_history_keeps_the_old_text(client, world, conversation):
    client.force_login(world.facilitator)
    client.post(f"/p/{conversation.answer.pk}/edit/", {"body": "Try the **Abbey** scale."})
    conversation.answer.refresh_from_db()
    assert conversation.answer.body_html == "<p>Try the <strong>Abbey</strong> scale.</p>"
    assert Revision.objects.get(post=conversation.answer).body == "Try the *abbey* scale first."
    page = client.get(conversation.thread.get_absolute_url()).content.decode()
    assert f'href="/p/{conversation.answer.pk}/history/">edited</a>' in page
    history = client.get(f"/p/{conversation.answer.pk}/history/").content.decode()
    assert "Try the *abbey* scale first." in history


def test_members_cannot_edit_others_posts(client, world, conversation):
    client.force_login(world.member)
    response = client.post(f"/p/{conversation.answer.pk}/edit/", {"body": "vandal"})
    assert response.status_code == 403
    conversation.answer.refresh_from_db()
    assert conversation.answer.body == "Try the *abbey* scale first."


def test_deleted_post_becomes_a_tombstone_that_keeps_the_tree(client, world, conversation):
    client.force_login(world.facilitator)
    client.post(f"/p/{conversation.answer.pk}/delete/")
    client.force_login(world.member)
    page = client.get(conversation.thread.get_absolute_url()).content.decode()
    assert "This post was deleted." in page and "abbey" not in page
    assert "Agree with Fern" in page
    client.force_login(world.owner)
    page = client.get(conversation.thread.get_absolute_url()).content.decode()
    assert "Deleted content (facilitators only" in page and "abbey" in page


def test_helpful_toggles_once_per_person(client, world, conversation):
    client.force_login(world.member)
    url = f"/p/{conversation.answer.pk}/helpful/"
    client.post(url)
    conversation.answer.refresh_from_db()
    assert conversation.answer.helpful_count == 1
    client.post(url)
    conversation.answer.refresh_from_db()
    assert conversation.answer.helpful_count == 0 and not Reaction.objects.exists()
    client.force_login(world.facilitator)
    assert client.post(url).status_code == 403
    assert not Reaction.objects.exists()  # not on your own post


def test_helpful_with_htmx_returns_the_button(client, world, conversation):
    client.force_login(world.member)
    response = client.post(f"/p/{conversation.answer.pk}/helpful/", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'aria-pressed="true"' in html and "Helpful · 1" in html
    assert "<html" not in html


def test_asker_accepts_an_answer_shown_at_the_top(client, world, conversation):
    client.force_login(world.member)
    client.post(f"/p/{conversation.answer.pk}/accept/")
    conversation.thread.refresh_from_db()
    assert conversation.thread.accepted_answer == conversation.answer
    page = client.get(conversation.thread.get_absolute_url()).content.decode()
    assert page.index("Accepted answer") < page.index(f'id="post-{conversation.opening.pk}"')
    client.force_login(world.outsider)
    assert client.post(f"/p/{conversation.nested.pk}/accept/").status_code == 403


def test_facilitator_hides_a_post_and_its_author_sees_why(client, world, conversation):
    client.force_login(world.owner)
    client.post(f"/p/{conversation.answer.pk}/hide/", {"reason": "Contains patient details"})
    conversation.answer.refresh_from_db()
    assert conversation.answer.is_hidden
    client.force_login(world.member)
    page = client.get(conversation.thread.get_absolute_url()).content.decode()
    assert "This post is hidden by a facilitator." in page and "abbey" not in page
    client.force_login(world.facilitator)
    page = client.get(conversation.thread.get_absolute_url()).content.decode()
    assert "Hidden by a facilitator: Contains patient details" in page and "abbey" in page
    assert Notification.objects.filter(user=world.facilitator, kind="hidden").exists()
    assert AuditEntry.objects.filter(action="post.hide", detail__contains="Contains patient details").exists()


def test_flag_once_then_review_queue_on_the_dashboard(client, world, conversation):
    client.force_login(world.member)
    client.post(f"/p/{conversation.answer.pk}/flag/", {"reason": "Off-topic advert"})
    response = client.post(f"/p/{conversation.answer.pk}/flag/", {"reason": "again"}, follow=True)
    assert "already flagged" in response.content.decode()
    assert Flag.objects.count() == 1
    response = client.post(f"/p/{conversation.answer.pk}/flag/", {"reason": ""})
    assert "This field is required." in response.content.decode()
    client.force_login(world.facilitator)
    dashboard = client.get("/c/commons/facilitate/").content.decode()
    assert "Flagged posts (1)" in dashboard and "Off-topic advert" in dashboard
    client.post(f"/p/{conversation.answer.pk}/dismiss-flags/")
    assert Flag.objects.get().resolution == "dismissed"


def test_facilitator_pins_locks_and_moves_a_thread(client, world, conversation):
    client.force_login(world.owner)
    url = f"/c/commons/t/{conversation.thread.pk}/moderate/"
    client.post(url, {"action": "pin"})
    other = services.start_thread(world.member, world.public, title="Newer thread", body="x")
    page = client.get("/c/commons/").content.decode()
    assert page.index("How do you assess pain") < page.index("Newer thread")
    client.post(url, {"action": "move", "community": world.private.pk})
    conversation.thread.refresh_from_db()
    assert conversation.thread.community == world.private
    old = client.get(f"/c/commons/t/{conversation.thread.pk}/")
    assert old.status_code == 302 and old["Location"] == f"/c/circle/t/{conversation.thread.pk}/"
    assert other.community == world.public


def test_private_thread_is_404_for_outsiders_everywhere(client, world, conversation):
    t = conversation.private_thread
    client.force_login(world.outsider)
    for url in [
        t.get_absolute_url(),
        f"/p/{t.opening_post.pk}/",
        f"/p/{t.opening_post.pk}/history/",
        f"/p/{t.opening_post.pk}/edit/",
        f"/p/{t.opening_post.pk}/flag/",
        f"/c/circle/t/{t.pk}/reply/",
        f"/c/commons/t/{t.pk}/",
    ]:
        response = client.get(url)
        assert response.status_code == 404, url
        assert b"Yak" not in response.content and b"Quokka" not in response.content
    assert client.post(f"/p/{t.opening_post.pk}/helpful/").status_code == 404


def test_unread_marker_and_jump_to_first_unread(client, world, conversation):
    client.force_login(world.member)
    client.get(conversation.thread.get_absolute_url())
    page = client.get("/c/commons/").content.decode()
    assert "is-unread" not in page
    newer = services.reply(world.facilitator, conversation.thread, "A new idea")
    page = client.get("/c/commons/").content.decode()
    assert "is-unread" in page
    response = client.get(f"/c/commons/t/{conversation.thread.pk}/unread/")
    assert response["Location"].endswith(f"#post-{newer.pk}")


@override_settings(POST_RATE_LIMIT="2/60", NEW_ACCOUNT_POST_RATE_LIMIT="2/60")
def test_posting_too_fast_is_limited_and_keeps_the_text(client, world, conversation):
    client.force_login(world.member)
    url = conversation.thread.get_absolute_url() + "reply/"
    client.post(url, {"body": "one"})
    client.post(url, {"body": "two"})
    response = client.post(url, {"body": "three is too many"})
    assert response.status_code == 429
    assert "posting faster" in response.content.decode() and "three is too many" in response.content.decode()
    assert not Post.objects.filter(body="three is too many").exists()


def test_thread_page_costs_the_same_queries_for_5_and_200_posts(
    client, world, conversation, django_assert_max_num_queries
):
    client.force_login(world.member)
    url = conversation.thread.get_absolute_url()
    client.get(url)
    with django_assert_max_num_queries(14) as small:
        client.get(url)
    for i in range(200):
        services.reply(
            world.facilitator, conversation.thread, f"reply {i}", parent=conversation.answer if i % 2 else None
        )
    conversation.thread.refresh_from_db()
    assert conversation.thread.reply_count == 202
    # The first view of a page with posts never shown moves the read position (one statement)…
    with django_assert_max_num_queries(len(small) + 1):
        client.get(url)
    with django_assert_max_num_queries(len(small) + 1):
        client.get(url + "?page=5")
    # …and reading them again costs exactly what it did with 5 posts.
    with django_assert_max_num_queries(len(small)):
        first = client.get(url)
    with django_assert_max_num_queries(len(small)):
        last = client.get(url + "?page=5")
    assert first.content.decode().count('class="post ') == 50
    assert "reply 199" in last.content.decode() or "reply 198" in last.content.decode()


def test_profile_lists_public_contributions_but_private_ones_only_to_members(client, world, conversation):
    page = client.get("/u/mira/").content.decode()
    assert "How do you assess pain in delirium?" in page
    assert "Yak canary case" not in page and "Zebra" not in page
    client.force_login(world.owner)
    page = client.get("/u/mira/").content.decode()
    assert "Yak canary case" in page and "Zebra Quince Circle" in page
    fern = client.get("/u/fern/").content.decode()
    assert "Replied in" in fern


def test_rerender_markup_updates_outdated_posts(world, conversation):
    from io import StringIO

    from django.core.management import call_command

    Post.objects.filter(pk=conversation.answer.pk).update(body_html="<p>stale</p>", render_version=0)
    out = StringIO()
    call_command("rerender_markup", stdout=out)
    conversation.answer.refresh_from_db()
    assert conversation.answer.body_html == "<p>Try the <em>abbey</em> scale first.</p>"
    assert "1 post(s)" in out.getvalue()


TRACKER = "https://tracker.example/p.gif"


def _images_and_links(content: bytes) -> tuple[list[str], dict[str, str]]:
    """Every <img> src on the page, and each link's text by its address, as a browser parses them."""
    import html5lib

    doc = html5lib.parse(content, treebuilder="etree", namespaceHTMLElements=False)
    images = [img.get("src") or "" for img in doc.iter("img")]
    links = {a.get("href"): "".join(a.itertext()) for a in doc.iter("a") if a.get("href")}
    return images, links


def test_a_remote_image_in_a_post_is_a_link_so_its_host_never_sees_the_readers(client, world, conversation):
    client.force_login(world.member)
    url = conversation.thread.get_absolute_url()
    body = f"Our ward poster: ![the night-shift poster]({TRACKER})"
    assert client.post(url + "reply/", {"body": body, "submission_key": "poster"}).status_code == 302

    page = Client().get(url)
    images, links = _images_and_links(page.content)
    assert not [src for src in images if "tracker.example" in src or src.startswith(("http:", "https:", "//"))]
    assert links[TRACKER] == "the night-shift poster"
    # And should a stored post still hold an <img>, the browser is told to load none from elsewhere.
    directives = dict(part.strip().split(" ", 1) for part in page["Content-Security-Policy"].split(";") if part.strip())
    assert directives["img-src"] == "'self'"


def test_rerendering_turns_images_stored_before_the_change_into_links(world, conversation):
    """RENDER_VERSION went up with the image policy: the command re-renders posts and event descriptions."""
    from io import StringIO

    from django.core.management import call_command

    from events.models import Event

    old_html = f'<p><img alt="poster" src="{TRACKER}"></p>'
    post = services.reply(world.member, conversation.thread, f"![poster]({TRACKER})")
    Post.objects.filter(pk=post.pk).update(body_html=old_html, render_version=1)
    event = factories.event(world.facilitator, world.public, title="Chat")
    Event.objects.filter(pk=event.pk).update(
        description=f"![poster]({TRACKER})", description_html=old_html, render_version=1
    )

    call_command("rerender_markup", stdout=StringIO())
    for html in (Post.objects.get(pk=post.pk).body_html, Event.objects.get(pk=event.pk).description_html):
        images, links = _images_and_links(html.encode())
        assert images == [] and links[TRACKER] == "poster", html


def test_deleted_content_is_purged_after_30_days(world, conversation):
    from datetime import timedelta

    from django.utils import timezone

    services.delete_post(world.facilitator, conversation.answer)
    services.delete_post(world.owner, conversation.nested)
    Post.objects.filter(pk=conversation.answer.pk).update(
        state=Post.State.DELETED, state_changed_at=timezone.now() - timedelta(days=31)
    )
    assert services.purge_deleted_content() == 1
    conversation.answer.refresh_from_db()
    conversation.nested.refresh_from_db()
    assert conversation.answer.body == "" and conversation.answer.body_html == ""
    assert conversation.nested.body.startswith("Agree with Fern")
