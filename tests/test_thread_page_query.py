"""The thread page's one hand-written query (discussions.views.threads.page_of_posts) against the ORM."""

from __future__ import annotations

import pytest

from discussions import services
from discussions.models import Post
from discussions.views.threads import page_of_posts


@pytest.fixture
def tree(world, conversation):
    """Twelve more replies, some nested three deep, by three people; one of them then deletes their account."""
    thread = conversation.thread
    parent = conversation.answer
    for i in range(12):
        author = (world.owner, world.facilitator, world.member)[i % 3]
        reply = services.reply(author, thread, f"Reply {i}", parent=parent if i % 2 else None)
        if i % 4 == 1:
            parent = reply
    world.facilitator.deleted_at = world.facilitator.date_joined  # what account deletion leaves
    world.facilitator.save(update_fields=["deleted_at"])
    thread.refresh_from_db()
    return thread


@pytest.mark.parametrize("start", [0, 1, 5, 10, 14])
def test_every_page_is_the_orms_page_in_tree_order_with_names(tree, start):
    expected = list(
        Post.objects.filter(thread=tree).select_related("author", "parent__author").order_by("path")[start : start + 5]
    )
    got = page_of_posts(tree, start, 5)
    assert [p.pk for p in got] == [p.pk for p in expected] and got
    for mine, orm in zip(got, expected, strict=True):
        assert (mine.path, mine.depth, mine.parent_id) == (orm.path, orm.depth, orm.parent_id)
        assert (mine.body_html, mine.created_at, mine.state) == (orm.body_html, orm.created_at, orm.state)
        assert mine.author.name == orm.author.name and mine.author.username == orm.author.username
        assert bool(mine.author.is_active) == orm.author.is_active
        wanted = orm.parent.author.name if orm.parent_id else None
        assert (mine.replying_to.name if mine.replying_to else None) == wanted
    assert any(p.author.name == "Former member" for p in page_of_posts(tree, 0, 20))


def test_the_readers_helpful_marks_come_with_the_page(tree, world):
    posts = page_of_posts(tree, 0, 20)
    others = [p for p in posts if p.author_id != world.member.pk][:3]
    for post in others:
        services.toggle_helpful(world.member, post)
    # Someone else's mark is theirs, not the reader's.
    services.toggle_helpful(world.owner, next(p for p in posts if p.author_id not in (world.owner.pk, None)))
    marked = {p.pk for p in page_of_posts(tree, 0, 20, reader=world.member) if p.reader_found_helpful}
    assert marked == {p.pk for p in others}
    assert not any(p.reader_found_helpful for p in page_of_posts(tree, 0, 20))  # nobody logged in


def test_a_page_past_the_end_is_empty(tree):
    assert page_of_posts(tree, tree.reply_count + 1, 20) == []
