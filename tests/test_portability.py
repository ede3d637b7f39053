"""Your data is yours: member download, community export, restore and the lossless round trip."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

import portability.community
from communities import services as community_services
from communities.models import Community, Membership
from discussions import services as discussions
from discussions.models import Post, Reaction, Revision, Thread
from events import services as events
from events.models import RSVP, Event, EventQuestion
from practice import services as practice
from practice.models import Commitment, LoopSetting, ReportBack
from resources import services as resources
from resources.models import Resource, ResourceFileVersion, ResourceReaction, ResourceReview, ResourceThread
from tests import factories
from value import items as value_items
from value import services as value
from value.models import ValueNote

DOWNLOAD = reverse("portability:download-data")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"
PDF2 = b"%PDF-1.4\n1 0 obj<<>>endobj\n2 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"
PRIVATE_NOTE = "only on quiet nights, Fern must not know"


def unzip(response) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


# --- Member download ---------------------------------------------------------------------


def test_member_download_has_everything_they_wrote_and_their_files(client, world, conversation):
    hidden = discussions.reply(world.member, conversation.thread, "A *private* thought about PAINAD")
    discussions.hide_post(world.facilitator, hidden, "Off topic")
    discussions.edit_post(world.member, conversation.opening, "We struggle with **PAINAD** at night, often.")
    discussions.toggle_helpful(world.member, conversation.answer)
    factories.resource(
        world.member, world.public, kind="file", title="Night chart", tags=["charts"], file=("night chart.pdf", PDF)
    )
    client.force_login(world.member)
    response = client.post(DOWNLOAD)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="copsite-mira-')
    archive = unzip(response)
    data = json.loads(archive.read("data.json"))
    assert data["format"] == "copsite-member-data" and data["profile"]["email"] == "mira@example.org"
    bodies = {p["body_markdown"] for p in data["posts"]}
    assert "Quokka tapering details" in bodies  # private community: still theirs
    assert "A *private* thought about PAINAD" in bodies  # hidden: still theirs
    assert "We struggle with **PAINAD** at night." in {r["body_markdown"] for r in data["revisions_of_my_posts"]}
    assert {t["title"] for t in data["threads_started"]} == {"How do you assess pain in delirium?", "Yak canary case"}
    assert [r["post"] for r in data["reactions_given"]] == [conversation.answer.pk]
    assert {m["community"] for m in data["memberships"]} == {"commons", "circle"}
    shared = data["resources_shared"][0]
    assert shared["title"] == "Night chart" and shared["tags"] == ["charts"]
    assert archive.read(shared["file"]["path"]) == PDF
    # Only their own words: other people's replies are not in it.
    assert "abbey" not in json.dumps(data).lower()


def test_someone_else_gets_only_their_own_data(client, world, conversation):
    client.force_login(world.outsider)
    data = json.loads(unzip(client.post(DOWNLOAD)).read("data.json"))
    assert data["profile"]["username"] == "otto"
    assert data["posts"] == [] and "mira" not in json.dumps(data)


def test_download_needs_login_a_post_and_a_csrf_token(client, world):
    response = client.post(DOWNLOAD)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(world.member)
    assert client.get(DOWNLOAD).status_code == 405
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(world.member)
    assert strict.post(DOWNLOAD).status_code == 403


def test_downloads_are_limited_per_hour(client, world, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "export": ("2/3600", None)}
    client.force_login(world.facilitator)
    community_export = reverse("portability:export-community", kwargs={"slug": "commons"})
    assert client.post(DOWNLOAD).status_code == 200
    assert client.post(community_export).status_code == 200
    response = client.post(DOWNLOAD)
    assert response.status_code == 429 and "Please wait about" in response.content.decode()
    assert client.post(community_export).status_code == 429


def test_download_costs_the_same_queries_for_few_or_many_posts(client, world, conversation):
    client.force_login(world.member)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            b"".join(client.post(DOWNLOAD).streaming_content)
        return len(ctx.captured_queries)

    few = queries()
    factories.replies(conversation.thread, 15, by=world.member, under=conversation.answer, body="More thoughts {i}")
    assert queries() == few


# --- Community export: who may ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "slug", "status"),
    [
        ("facilitator", "commons", 200),
        ("owner", "circle", 200),
        ("admin", "circle", 200),
        ("member", "commons", 403),
        ("member", "circle", 403),
        ("outsider", "commons", 403),
        ("outsider", "circle", 404),
        ("other_facilitator", "circle", 404),
        (None, "circle", 404),
    ],
)
def test_community_export_is_for_facilitators(client, world, who, slug, status):
    if who:
        client.force_login(getattr(world, who))
    response = client.post(reverse("portability:export-community", kwargs={"slug": slug}))
    assert response.status_code == status
    if status == 200:
        assert response["Content-Type"] == "application/zip"
    if status == 404:
        assert b"Zebra Quince" not in response.content


def test_anonymous_visitor_is_asked_to_log_in_for_a_public_community_export(client, world):
    response = client.post(reverse("portability:export-community", kwargs={"slug": "commons"}))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_community_export_is_a_post_with_a_csrf_token(client, world):
    """A link or an image on another site never builds the zip in a facilitator's name."""
    from django.test import Client

    export = reverse("portability:export-community", kwargs={"slug": "circle"})
    client.force_login(world.facilitator)
    page = client.get(export)
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    assert 'method="post"' in page.content.decode() and "Download Zebra Quince Circle (zip)" in page.content.decode()
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(world.facilitator)
    assert strict.post(export).status_code == 403
    assert client.put(export).status_code == 405


def test_dashboard_links_the_export_and_the_zip_names_no_email(client, world, conversation):
    client.force_login(world.facilitator)
    dashboard = client.get(reverse("communities:facilitate", kwargs={"slug": "commons"})).content.decode()
    assert reverse("portability:export-community", kwargs={"slug": "commons"}) in dashboard
    archive = unzip(client.post(reverse("portability:export-community", kwargs={"slug": "commons"})))
    text = archive.read("community.json").decode()
    document = json.loads(text)
    assert document["format"] == "copsite-community" and document["version"] == 2
    assert "@example.org" not in text
    assert {p["key"] for p in document["people"]} >= {"mira", "fern", "olive"}
    assert "Quokka" not in text  # another community's thread


def test_community_export_costs_the_same_queries_for_few_or_many_posts(world, conversation):
    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            portability.community.collect(Community.objects.get(pk=world.public.pk))
        return len(ctx.captured_queries)

    few = queries()
    for i in range(10):
        thread = discussions.start_thread(world.member, world.public, title=f"T{i}", body="b", tags=[f"tag{i}"])
        reply = discussions.reply(world.owner, thread, "r")
        discussions.toggle_helpful(world.member, reply)
        discussions.edit_post(world.owner, reply, "r2")
    assert queries() == few


# --- The round trip ---------------------------------------------------------------------------


def build_rich_community(world) -> Community:
    """Every kind of thing a community holds, in the public community of the world."""
    c = world.public
    community_services.join(world.outsider, c)
    q = discussions.start_thread(
        world.member, c, title="Night pain scales?", kind="question", body="Which **scale**?", tags=["pain", "night"]
    )
    answer = discussions.reply(world.facilitator, q, "PAINAD, charted hourly.")
    nested = discussions.reply(world.owner, q, "And the *abbey* scale.", parent=answer)
    discussions.reply(world.member, q, "Thanks @fern!", parent=nested)
    hidden = discussions.reply(world.member, q, "Off-topic rant")
    discussions.hide_post(world.facilitator, hidden, "Off topic")
    gone = discussions.reply(world.owner, q, "Posted in the wrong place")
    discussions.delete_post(world.owner, gone)
    discussions.reply(world.outsider, q, "Cheap pills here", suspected_spam=True)
    discussions.start_thread(world.outsider, c, title="Buy now", body="Offer", suspected_spam=True)
    discussions.edit_post(world.facilitator, answer, "PAINAD, charted **hourly**.")
    discussions.toggle_helpful(world.member, answer)
    discussions.toggle_helpful(world.owner, answer)
    discussions.accept_answer(world.member, q, answer)
    story = discussions.start_thread(world.owner, c, title="A night on ward 4", kind="story", body="It began…")
    discussions.set_thread_state(world.facilitator, story, "lock")
    talk = discussions.start_thread(world.facilitator, c, title="Welcome", body="Say hello", tags=["intro"])
    discussions.set_thread_state(world.facilitator, talk, "pin")
    discussions.edit_post(world.facilitator, talk.opening_post, "Say hello!", title="Welcome, everyone")
    card = factories.resource(
        world.member,
        c,
        kind="file",
        title="Pain card",
        description="Print it *large*.",
        tags=["pain"],
        file=("pain card.pdf", PDF),
    )
    resources.toggle_helpful(world.owner, card)
    resources.set_pin(world.facilitator, card, "pin")
    resources.start_discussion(world.owner, card)
    # The repertoire's life: a replaced file, an endorsement, a review, a discussion that produced it.
    card.refresh_from_db()  # as the edit view reads it: pinned, one helpful mark
    resources.edit_resource(
        world.member, card, fields={"title": "Pain card"}, tags=["pain"], upload=SimpleUploadedFile("card v2.pdf", PDF2)
    )
    resources.endorse_resource(world.facilitator, card)
    resources.record_review(
        world.facilitator, card, checked="Scales still current", next_review_by=date.today() + timedelta(days=90)
    )
    resources.link_thread(world.facilitator, card, q, "produced_by")
    trial = factories.resource(
        world.owner,
        c,
        kind="research",
        title="Hourly charting trial",
        summary="Charting helped.",
        in_practice="Chart at 2am.",
        citation_title="A trial",
        citation_year=2024,
        try_this="Chart one patient hourly tonight.",
    )
    old = factories.resource(world.owner, c, title="Old charting guide")
    resources.supersede_resource(world.facilitator, old, trial)
    resources.add_resource(world.member, c, fields={"kind": "howto", "title": "Half-written"}, tags=[], draft=True)
    # The practice loop: a community setting, a commitment with a private note and a report-back.
    practice.set_ask_after_days(world.facilitator, c, 10)
    tried = practice.commit(world.member, trial, note=PRIVATE_NOTE, try_by=date(2026, 3, 1))
    trial.refresh_from_db()
    practice.report_back(world.member, tried, outcome="helped", story="Fewer calls at 3am.")
    practice.commit(world.outsider, trial)
    # Value notes on a thread, a post and a resource.
    item = value_items.Item(c, thread=q)
    value.add_note(world.member, item, cycle="immediate", text="Saved my shift.", share_in_digest=True)
    value.add_note(
        world.owner, value_items.Item(c, thread=q, post=answer), cycle="realised", text="Fewer falls.", measure="6 to 2"
    )
    value.add_note(world.outsider, value_items.Item(c, resource=card), cycle="applied", text="I print it now.")
    start = datetime(2026, 1, 10, 20, 0, tzinfo=UTC)
    chat = factories.event(
        world.facilitator,
        c,
        title="Night shift chat",
        starts=start,
        time_zone="Europe/London",
        welcome="Hello night owls",
        questions=[(5, "What helps?"), (20, "What hurts?")],
    )
    events.rsvp(world.member, chat, "going")
    events.rsvp(world.owner, chat, "maybe")
    events.run_chats(start + timedelta(minutes=30))
    chat.refresh_from_db()
    discussions.reply(world.member, chat.thread, "Warm milk.", parent=chat.questions.first().post)
    c.refresh_from_db()
    return c


def counts(community: Community) -> dict[str, int]:
    """Row counts and the denormalized counters pages show."""
    posts = Post.objects.filter(thread__community=community)
    threads = Thread.objects.filter(community=community)
    return {
        "reply_counts": sum(threads.values_list("reply_count", flat=True)),
        "helpful_counts": sum(posts.values_list("helpful_count", flat=True)),
        "child_counts": sum(posts.values_list("child_count", flat=True)),
        "member_count": Community.objects.get(pk=community.pk).member_count,
        "threads": Thread.objects.filter(community=community).count(),
        "posts": posts.count(),
        "hidden": posts.filter(state__in=[Post.State.HIDDEN, Post.State.HELD]).count(),
        "held": posts.filter(state=Post.State.HELD).count() + threads.filter(held_at__isnull=False).count(),
        "deleted": posts.filter(state=Post.State.DELETED).count(),
        "revisions": Revision.objects.filter(post__thread__community=community).count(),
        "reactions": Reaction.objects.filter(post__thread__community=community).count(),
        "resources": Resource.objects.filter(community=community).count(),
        "resource_reactions": ResourceReaction.objects.filter(resource__community=community).count(),
        "events": Event.objects.filter(community=community).count(),
        "questions": EventQuestion.objects.filter(event__community=community, post__isnull=False).count(),
        "rsvps": RSVP.objects.filter(event__community=community).count(),
        "members": Membership.objects.filter(community=community).count(),
        "statuses": sorted(Resource.objects.filter(community=community).values_list("status", flat=True)),
        "reviews": ResourceReview.objects.filter(resource__community=community).count(),
        "file_versions": ResourceFileVersion.objects.filter(resource__community=community).count(),
        "thread_links": ResourceThread.objects.filter(resource__community=community).count(),
        "superseded": Resource.objects.filter(community=community, superseded_by__isnull=False).count(),
        "commitments": Commitment.objects.filter(resource__community=community).count(),
        "report_backs": ReportBack.objects.filter(resource__community=community, post__isnull=False).count(),
        "value_notes": ValueNote.objects.filter(community=community).count(),
        "shared_value_notes": ValueNote.objects.filter(community=community, share_in_digest=True).count(),
        "ask_after_days": LoopSetting.objects.filter(community=community)
        .values_list("ask_after_days", flat=True)
        .first()
        or 0,
    }


def resource_page(client, resource: Resource) -> str:
    """The resource page's main content, ids (which change in a restore) taken out."""
    import re

    page = client.get(resource.get_absolute_url()).content.decode()
    main = page[page.index("<main") : page.index("</main>")]
    main = re.sub(r"/\d+(/|\b)", "/N\\1", main)
    return re.sub(r'(name="csrfmiddlewaretoken" value=")[^"]+', r"\1", main)


def delete_community(community: Community) -> None:
    """Everything of it goes (replies protect their parents, so the tree is cut first)."""
    Post.objects.filter(thread__community=community).update(parent=None)
    community.delete()


def test_export_delete_restore_is_lossless(client, world, tmp_path):
    community = build_rich_community(world)
    before = counts(community)
    assert before["posts"] >= 12 and before["questions"] == 2 and before["held"] == 3 and before["deleted"] == 1
    assert before["file_versions"] == 1 and before["commitments"] == 2 and before["report_backs"] == 1
    assert before["value_notes"] == 3 and before["ask_after_days"] == 10 and before["superseded"] == 1
    client.force_login(world.facilitator)
    card = Resource.objects.get(community=community, title="Pain card")
    trial = Resource.objects.get(community=community, title="Hourly charting trial")
    old_guide = Resource.objects.get(community=community, title="Old charting guide")
    pages_before = {r.title: resource_page(client, r) for r in (card, trial, old_guide)}
    zip_path = tmp_path / "commons.zip"
    response = client.post(reverse("portability:export-community", kwargs={"slug": "commons"}))
    zip_path.write_bytes(b"".join(response.streaming_content))
    text = zipfile.ZipFile(zip_path).read("community.json").decode()
    original = json.loads(text)
    assert original["version"] == 2
    assert PRIVATE_NOTE not in text and "Fern must not know" not in text  # a commitment's note is its author's

    delete_community(community)
    assert not Thread.objects.filter(title="Night pain scales?").exists()
    call_command("restore_community", str(zip_path), stdout=io.StringIO())

    restored = Community.objects.get(slug="commons")
    assert counts(restored) == before
    document, files = portability.community.collect(restored)
    assert portability.community.content_hash(document) == portability.community.content_hash(original)
    # Same install, same people: even the re-rendered HTML (mention links included) is identical.
    assert {**document, "exported_at": None} == {**original, "exported_at": None}
    stored = {path.rsplit("/", 1)[-1]: field for path, field in files}
    assert sorted(stored) == ["card v2.pdf", "pain card.pdf"]
    with stored["pain card.pdf"].open("rb") as handle:
        assert handle.read() == PDF  # the earlier version, kept with its checksum
    with stored["card v2.pdf"].open("rb") as handle:
        assert handle.read() == PDF2
    # The library's pages read as before: status, endorsement, reviews, versions, loop and value notes.
    for title, page in pages_before.items():
        again = resource_page(client, Resource.objects.get(community=restored, title=title))
        assert again == page, title
    # Counters set once, tree and order intact, search finds the restored words.
    question = Thread.objects.get(community=restored, title="Night pain scales?")
    assert question.reply_count == 6 and question.accepted_answer.body == "PAINAD, charted **hourly**."
    assert question.accepted_answer.helpful_count == 2
    page = client.get(question.get_absolute_url()).content.decode()
    assert page.index("PAINAD, charted") < page.index("abbey") < page.index("Thanks")
    assert "How do you assess" not in page
    hits = client.get("/search/", {"q": "abbey"}).content.decode()
    assert "Night pain scales?" in hits


# What version 2 added: a version 1 file has none of it.
V2_RESOURCE_KEYS = (
    "try_this",
    "status",
    "owner",
    "endorsed_by",
    "endorsed_at",
    "superseded_by",
    "review_by",
    "reviews",
    "thread_links",
    "file_versions",
    "commitments",
)


def as_version_1(document: dict) -> dict:
    """The document as copsite wrote it before version 2."""
    old = {k: v for k, v in document.items() if k != "value_notes"}
    old["version"] = 1
    old["community"] = {k: v for k, v in document["community"].items() if k != "ask_after_days"}
    old["resources"] = [{k: v for k, v in r.items() if k not in V2_RESOURCE_KEYS} for r in document["resources"]]
    return old


def test_a_version_1_export_still_restores(client, world, tmp_path):
    community = build_rich_community(world)
    before = counts(community)
    path = tmp_path / "v1.zip"
    with path.open("wb") as out:
        document = portability.community.write_zip(community, out)
    old = as_version_1(document)
    with zipfile.ZipFile(path) as archive:
        current = {r["file"]["path"] for r in old["resources"] if r["file"]}
        kept = {name: archive.read(name) for name in archive.namelist() if name in current}
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("community.json", json.dumps(old))
        for name, content in kept.items():
            archive.writestr(name, content)
    delete_community(community)

    restored = portability.community.restore(path)
    after = counts(restored)
    unchanged = ("threads", "posts", "revisions", "reactions", "resources", "resource_reactions", "events", "rsvps")
    assert {k: after[k] for k in unchanged} == {k: before[k] for k in unchanged}
    # What version 1 did not carry starts as it would for a resource added here: published, its creator's.
    assert after["statuses"] == ["published"] * before["resources"]
    assert after["commitments"] == after["value_notes"] == after["file_versions"] == after["ask_after_days"] == 0
    card = Resource.objects.get(community=restored, title="Pain card")
    assert card.owner == card.added_by == world.member and card.file_name == "card v2.pdf"
    client.force_login(world.member)
    page = client.get(card.get_absolute_url()).content.decode()
    assert "Pain card" in page and "Owner: Mira Member" in page


def test_restore_rerenders_markup_instead_of_trusting_the_file(world, tmp_path):
    discussions.start_thread(world.member, world.public, title="Safe", body="plain **words**")
    path = tmp_path / "x.zip"
    with path.open("wb") as out:
        document = portability.community.write_zip(world.public, out)
    document["threads"][0]["posts"][0]["body_html"] = "<script>alert(1)</script>"
    rewrite(path, document)
    delete_community(world.public)
    restored = portability.community.restore(path)
    post = Post.objects.get(thread__community=restored)
    assert "<script>" not in post.body_html and "<strong>words</strong>" in post.body_html


def test_unknown_authors_become_inactive_placeholders_without_email(world, tmp_path):
    from accounts.models import User

    discussions.start_thread(world.member, world.public, title="Hello", body="hi")
    path = tmp_path / "x.zip"
    with path.open("wb") as out:
        portability.community.write_zip(world.public, out)
    delete_community(world.public)
    User.objects.filter(username="mira").delete()
    restored = portability.community.restore(path)
    mira = User.objects.get(username="mira")
    assert not mira.is_active and not mira.has_usable_password() and mira.display_name == "Mira Member"
    assert mira.email.endswith(".invalid")
    assert Thread.objects.get(community=restored).author == mira


def test_a_former_members_posts_stay_former_after_a_restore_elsewhere(world, tmp_path):
    from accounts.models import FORMER_MEMBER, User
    from portability.deletion import delete_account

    discussions.start_thread(world.member, world.public, title="Hello", body="hi")
    delete_account(world.member)
    path = tmp_path / "x.zip"
    with path.open("wb") as out:
        document = portability.community.write_zip(world.public, out)
    assert "Mira" not in json.dumps(document)
    delete_community(world.public)
    User.objects.filter(pk=world.member.pk).delete()  # the new install never knew them
    restored = portability.community.restore(path)
    author = Thread.objects.get(community=restored).author
    assert author.name == FORMER_MEMBER and not author.is_active


# --- Restore refuses bad input -----------------------------------------------------------------


def rewrite(path, document: dict, extra: dict[str, bytes] | None = None) -> None:
    """Replace community.json in the zip at ``path`` (keeping its files) and add ``extra`` members."""
    with zipfile.ZipFile(path) as old:
        kept = {name: old.read(name) for name in old.namelist() if name != "community.json"}
    with zipfile.ZipFile(path, "w") as new:
        new.writestr("community.json", json.dumps(document))
        for name, content in {**kept, **(extra or {})}.items():
            new.writestr(name, content)


@pytest.fixture
def exported(world, tmp_path):
    discussions.start_thread(world.member, world.public, title="Keep me", body="kept")
    path = tmp_path / "commons.zip"
    with path.open("wb") as out:
        document = portability.community.write_zip(world.public, out)
    return path, document


def restore_error(path) -> str:
    communities = Community.objects.count()
    with pytest.raises(CommandError) as caught:
        call_command("restore_community", str(path), stdout=io.StringIO())
    assert Community.objects.count() == communities
    return str(caught.value)


def test_restore_refuses_a_file_that_is_not_a_zip(db, tmp_path):
    path = tmp_path / "junk.zip"
    path.write_bytes(b"this is not a zip")
    assert "Not a readable zip file" in restore_error(path)


def test_restore_refuses_when_the_slug_exists(exported):
    path, _ = exported
    assert "already exists" in restore_error(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "something-else"}, "not a copsite community export"),
        ({"version": 3}, "format version 3"),
    ],
)
def test_restore_refuses_other_formats_and_versions(world, exported, change, message):
    path, document = exported
    delete_community(world.public)
    rewrite(path, {**document, **change})
    assert message in restore_error(path)


@pytest.mark.parametrize("name", ["../evil.txt", "files/../../evil.txt", "/etc/passwd", "files/..\\evil", "notes.txt"])
def test_restore_refuses_unsafe_names_in_the_zip(world, exported, name):
    path, document = exported
    delete_community(world.public)
    rewrite(path, document, extra={name: b"x"})
    assert "unexpected or unsafe name" in restore_error(path)


def test_restore_refuses_a_broken_tree_and_leaves_nothing_behind(world, exported):
    path, document = exported
    delete_community(world.public)
    document["threads"][0]["posts"].append({**document["threads"][0]["posts"][0], "key": "t1.p2", "parent": "t9.p1"})
    rewrite(path, document)
    assert "malformed" in restore_error(path)
    assert not Thread.objects.filter(title="Keep me").exists()


def test_restore_refuses_a_file_whose_content_does_not_match(world, tmp_path):
    factories.resource(world.member, world.public, kind="file", title="Card", file=("card.pdf", PDF))
    path = tmp_path / "x.zip"
    with path.open("wb") as out:
        document = portability.community.write_zip(world.public, out)
    delete_community(world.public)
    file_path = document["resources"][0]["file"]["path"]
    with zipfile.ZipFile(path) as old:
        manifest = old.read("community.json")
    with zipfile.ZipFile(path, "w") as new:
        new.writestr("community.json", manifest)
        new.writestr(file_path, b"<html><script>alert(1)</script></html>")
    assert "checksum" in restore_error(path)


# --- Member download after losing access ---------------------------------------------------------------


def test_a_banned_members_download_has_their_words_but_no_names_given_after_the_ban(client, world, conversation):
    """Mira writes in the private circle, is banned; then the circle and its threads are renamed and her
    post is edited. Her download keeps what she wrote and the names she knew, never the new ones."""
    circle, own = world.private, conversation.private_thread
    theirs = discussions.start_thread(world.facilitator, circle, title="Taper rota", body="Who covers nights?")
    reply = discussions.reply(world.member, theirs, "I can take Tuesdays.")
    call = factories.event(
        world.facilitator, circle, kind="call", title="Rota call", starts=datetime(2026, 2, 1, 18, 0, tzinfo=UTC)
    )
    events.rsvp(world.member, call, "going")
    chart = factories.resource(world.member, circle, title="Taper steps", description="Mine")
    kept = factories.resource(world.member, circle, title="Weaning notes", description="Also mine")
    banned = Membership.objects.get(user=world.member, community=circle)
    community_services.remove_member(world.owner, circle, banned.pk, ban=True)

    community_services.update_community(world.owner, circle, name="Merger Task Force", slug="merger-task-force")
    discussions.edit_post(world.facilitator, own.opening_post, "Redacted by Fern", title="Layoff list for March")
    discussions.edit_post(world.facilitator, theirs.opening_post, "Who covers nights?", title="Closing ward 9")
    discussions.edit_post(world.facilitator, reply, "Tuesdays: Alex from ward 9")
    events.update_event(world.facilitator, call, fields={"title": "Ward 9 closure call"}, questions=[], hosts=[])
    resources.edit_resource(world.facilitator, chart, fields={"title": "Ward 9 exit steps"}, tags=[])

    client.force_login(world.member)
    data = json.loads(unzip(client.post(DOWNLOAD)).read("data.json"))
    text = json.dumps(data, ensure_ascii=False)
    for later in ("Merger", "merger-task-force", "Layoff", "Redacted by Fern", "Ward 9", "ward 9", "Zebra", "circle"):
        assert later not in text  # neither the new names nor the old private ones
    bodies = {p["body_markdown"] for p in data["posts"]}
    assert {"Quokka tapering details", "I can take Tuesdays."} <= bodies  # her words, as she left them
    assert {t["title"] for t in data["threads_started"]} == {"How do you assess pain in delirium?", "Yak canary case"}
    assert {p["thread_title"] for p in data["posts"] if p["id"] == reply.pk} == {"a thread you can no longer see"}
    assert {m["community_name"] for m in data["memberships"]} == {"Ward Commons", "a private community"}
    assert [r["title"] for r in data["rsvps"]] == ["an event you can no longer see"]
    shared = {r["id"]: r for r in data["resources_shared"]}
    assert (
        shared[chart.pk]["title"] == "a resource changed after you left"
        and "description_markdown" not in shared[chart.pk]
    )
    assert shared[kept.pk]["title"] == "Weaning notes" and shared[kept.pk]["community"] == "a private community"


def test_a_members_download_names_the_places_they_still_see_as_they_are_now(client, world, conversation):
    discussions.edit_post(world.facilitator, conversation.opening, conversation.opening.body, title="Pain in delirium")
    community_services.update_community(world.owner, world.public, name="Ward Commons Network")
    client.force_login(world.member)
    data = json.loads(unzip(client.post(DOWNLOAD)).read("data.json"))
    opening = next(p for p in data["posts"] if p["id"] == conversation.opening.pk)
    assert opening["thread_title"] == "Pain in delirium" and opening["community"] == "commons"
    assert "Ward Commons Network" in {m["community_name"] for m in data["memberships"]}
    assert "circle" in {m["community"] for m in data["memberships"]}  # still a member there


def test_member_download_has_their_commitments_with_notes_report_backs_and_value_notes(client, world):
    from value.items import Item

    trial = factories.resource(
        world.owner, world.public, kind="research", title="Hourly charting", try_this="Chart one patient hourly."
    )
    tried = practice.commit(world.member, trial, note=PRIVATE_NOTE, try_by=date(2026, 3, 1))
    practice.report_back(world.member, tried, outcome="helped", story="Fewer calls at 3am.")
    value.add_note(world.member, Item(world.public, resource=trial), cycle="applied", text="I chart hourly now.")
    value.add_note(world.owner, Item(world.public, resource=trial), cycle="immediate", text="Not Mira's note.")
    client.force_login(world.member)
    data = json.loads(unzip(client.post(DOWNLOAD)).read("data.json"))
    assert data["version"] == 2
    (commitment,) = data["commitments"]
    assert commitment["resource_title"] == "Hourly charting" and commitment["note"] == PRIVATE_NOTE
    assert commitment["try_by"] == "2026-03-01" and commitment["report_back"]["outcome"] == "helped"
    assert commitment["report_back"]["story"] == "Fewer calls at 3am."
    assert [(n["about"], n["title"], n["cycle"], n["text"]) for n in data["value_notes"]] == [
        ("resource", "Hourly charting", "applied", "I chart hourly now.")
    ]


def test_a_members_download_costs_the_same_with_more_commitments_and_value_notes(client, world):
    from value.items import Item

    client.force_login(world.member)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            b"".join(client.post(DOWNLOAD).streaming_content)
        return len(ctx.captured_queries)

    def add(i: int) -> None:
        r = factories.resource(world.owner, world.public, kind="research", title=f"R{i}", try_this="Try it.")
        practice.report_back(world.member, practice.commit(world.member, r), outcome="not_yet")
        thread = discussions.start_thread(world.owner, world.public, title=f"T{i}", body="b")
        value.add_note(world.member, Item(world.public, thread=thread), cycle="potential", text=f"Note {i}")
        value.add_note(world.member, Item(world.public, resource=r), cycle="potential", text=f"Note r{i}")

    add(0)
    few = queries()
    for i in range(1, 8):
        add(i)
    assert queries() == few
