"""manage.py rerender_markup across the switch to markdown-it-py (RENDER_VERSION 3), and "#123" thread links."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import html5lib
import pytest
from django.core.management import call_command

from communities.models import Community
from core import rerender
from core.markup import RENDER_VERSION
from discussions import services
from discussions.models import Post
from events.models import Event
from resources.models import Resource
from tests import factories

FIXTURE = Path(__file__).parent / "fixtures" / "markup_v2_posts.json"

# The documented dialect differences (docs/markup.md, "Changes from the old renderer"),
# by source: what a reader saw before and sees now, whitespace normalised.
DIALECT_DIFFERENCES = {
    # A list typed right under a line was one paragraph with the markers in it; now it is a list.
    "Questions:\n- does it scale?\n- is it cheap?": (
        "Questions: - does it scale? - is it cheap?",
        "Questions: does it scale? is it cheap?",
    ),
    "Text right before a list\n1. one\n2. two": (
        "Text right before a list 1. one 2. two",
        "Text right before a list one two",
    ),
    # ~~ was shown as typed; now it strikes the words through.
    "Done ~~yesterday~~ today.": ("Done ~~yesterday~~ today.", "Done yesterday today."),
}
# In the stored plain text (search, mail) lists keep their markers, so only this one differs.
TEXT_DIFFERENCES = {"Done ~~yesterday~~ today.": ("Done ~~yesterday~~ today.", "Done yesterday today.")}


def visible(html: str) -> str:
    tree = html5lib.parseFragment(html, treebuilder="etree", namespaceHTMLElements=False)
    return " ".join("".join(tree.itertext()).split())


def normalised(text: str) -> str:
    return " ".join(text.split())


def _yesterdays_posts(world, thread) -> list[tuple[Post, dict]]:
    data = json.loads(FIXTURE.read_text())
    assert data["render_version"] == 2 < RENDER_VERSION
    made = []
    for entry in data["posts"]:
        post = services.reply(world.member, thread, entry["source"])
        Post.objects.filter(pk=post.pk).update(
            body_html=entry["old_html"], body_text=entry["old_text"], render_version=data["render_version"]
        )
        made.append((post, entry))
    return made


def test_yesterdays_posts_read_the_same_after_the_rerender_but_for_the_listed_dialect_changes(world, conversation):
    posts = _yesterdays_posts(world, conversation.thread)
    assert len(posts) >= 20
    out = StringIO()
    call_command("rerender_markup", stdout=out)
    assert f"{len(posts)} post(s)" in out.getvalue()

    differences, text_differences = {}, {}
    for post, entry in posts:
        post.refresh_from_db()
        assert post.render_version == RENDER_VERSION
        before, after = visible(entry["old_html"]), visible(post.body_html)
        if before != after:
            differences[entry["source"]] = (before, after)
        before, after = normalised(entry["old_text"]), normalised(post.body_text)
        if before != after:
            text_differences[entry["source"]] = (before, after)
    assert differences == DIALECT_DIFFERENCES
    assert text_differences == TEXT_DIFFERENCES
    # The HTML did change where the dialect did: headings moved down, lines break.
    html = {entry["source"]: post.body_html for post, entry in posts}
    assert (
        "<h4>Results</h4>"
        in html["Heading below\n\n## Results\n\nThe results were fine.\n\n### Details\n\nMostly fine."]
    )
    assert "<br>" in html["A long thought\nthat continues on the next line\nand another one."]


def test_an_interrupted_rerender_resumes_where_it_stopped(world, conversation, monkeypatch):
    from discussions import rerender as post_rerender

    made = factories.replies(conversation.thread, 5, by=world.member)
    Post.objects.update(render_version=0)
    behind = Post.objects.count()
    monkeypatch.setattr(rerender, "BATCH", 2)
    rendered: list[str] = []
    real = post_rerender.render_post

    def failing_on_the_third(body):
        if len(rendered) == 2:
            raise KeyboardInterrupt  # the operator's Ctrl-C, mid-batch
        rendered.append(body)
        return real(body)

    monkeypatch.setattr(post_rerender, "render_post", failing_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        call_command("rerender_markup", stdout=StringIO())
    # The first batch is saved; the one interrupted is not.
    assert Post.objects.filter(render_version=RENDER_VERSION).count() == 2

    rendered.clear()
    monkeypatch.setattr(post_rerender, "render_post", lambda body: (rendered.append(body), real(body))[1])
    out = StringIO()
    call_command("rerender_markup", stdout=out)
    assert len(rendered) == behind - 2  # nothing done twice
    assert not Post.objects.filter(render_version__lt=RENDER_VERSION).exists()
    lines = out.getvalue().splitlines()
    assert f"  posts: 2/{behind - 2} " in "\n".join(lines)  # progress: done/total and a rate
    assert any(line.startswith(f"  posts: {behind - 2}/{behind - 2} (") and line.endswith("/s)") for line in lines)
    assert made[-1].pk in set(Post.objects.filter(render_version=RENDER_VERSION).values_list("pk", flat=True))


def test_descriptions_and_resources_are_rerendered_by_version(world, conversation):
    event = factories.event(world.facilitator, world.public, title="Chat", description="a\nb")
    resource = factories.resource(world.member, world.public, description="~~x~~ y")
    for model, pk in ((Event, event.pk), (Resource, resource.pk), (Community, world.public.pk)):
        assert model.objects.get(pk=pk).render_version == RENDER_VERSION  # saving renders at the current version
    Event.objects.filter(pk=event.pk).update(description_html="<p>a b</p>", render_version=2)
    Resource.objects.filter(pk=resource.pk).update(description_html="<p>~~x~~ y</p>", render_version=2)
    Community.objects.filter(pk=world.public.pk).update(description="# About", description_html="", render_version=2)

    out = StringIO()
    call_command("rerender_markup", stdout=out)
    assert Event.objects.get(pk=event.pk).description_html == "<p>a<br>\nb</p>"
    assert Resource.objects.get(pk=resource.pk).description_html == "<p><del>x</del> y</p>"
    assert Community.objects.get(pk=world.public.pk).description_html == "<h3>About</h3>"
    for label in ("events: 1/1", "resources: 1/1", "communities: 1/1"):
        assert label in out.getvalue()

    # Up to date now: a second run touches nothing; --all does everything again.
    out = StringIO()
    call_command("rerender_markup", stdout=out)
    assert "0 post(s)" in out.getvalue() and "0 resource(s)" in out.getvalue()
    out = StringIO()
    call_command("rerender_markup", "--all", stdout=out)
    assert f"{Post.objects.count()} post(s)" in out.getvalue()


# --- "#123" in posts ---------------------------------------------------------------------


def test_a_post_links_threads_by_number_in_one_query(world, conversation, django_assert_max_num_queries):
    public = conversation.thread
    private = conversation.private_thread
    missing = max(public.pk, private.pk) + 1000
    body = f"See #{public.pk}, not #{private.pk} or #{missing}; thanks @mira. `#{public.pk}`"
    with django_assert_max_num_queries(2):  # the mentioned people, the threads
        rendered = services.render_post(body)
    html = rendered.html
    assert f'<a class="thread-link" href="{public.get_absolute_url()}"' in html
    assert html.count('class="thread-link"') == 1
    # A private community's thread stays plain text: its address would name the community.
    assert f"#{private.pk}" in html and private.get_absolute_url() not in html
    assert f"#{missing}" in html
    assert public.title not in html and private.title not in html


def test_a_reply_shows_the_thread_link(client, world, conversation):
    other = factories.thread(world.member, world.public, title="Scope probes")
    client.force_login(world.member)
    url = conversation.thread.get_absolute_url()
    response = client.post(url + "reply/", {"body": f"Related: #{other.pk}", "submission_key": "rel"})
    assert response.status_code == 302
    page = client.get(url).content.decode()
    assert f'href="{other.get_absolute_url()}"' in page and f">#{other.pk}</a>" in page
