"""The research-to-practice loop: a research summary's "Try this", "I'll try this", the asks (each exactly
once), report-backs on the resource's page and in its discussion, and the facilitator's report."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from communities.models import Membership
from discussions import services as discussions
from discussions.models import Post
from notifications import display
from notifications.models import Notification
from practice import services
from practice.models import Commitment, ReportBack
from resources import services as resources
from resources.models import Resource, citation_href
from tests import factories

pytestmark = pytest.mark.django_db

RESEARCH = {
    "kind": "research",
    "title": "Behavioural pain scales in delirium",
    "citation_title": "Observational pain scales in older adults with delirium",
    "citation_link": "10.1000/xyz123",
    "summary": "Behavioural scales were **reliable** when self-report failed.",
    "in_practice": "Score at the same time as obs.",
    "try_this": "Score one confused patient with a behavioural scale on your next shift.",
    "tags": "assessment",
}
DAY = timedelta(days=1)


def research(world, community=None, **changes) -> Resource:
    fields = {k: v for k, v in {**RESEARCH, **changes}.items() if k != "tags"}
    return factories.resource(world.owner, community or world.public, **fields)


def commit(person, resource, **kwargs) -> Commitment:
    """``person`` commits (which starts the resource's discussion: ``resource`` is read again)."""
    made = services.commit(person, resource, **kwargs)
    resource.refresh_from_db()
    return made


def asks(user) -> list[Notification]:
    return list(Notification.objects.filter(user=user, kind=Notification.Kind.PRACTICE_ASK))


# --- The research summary's fields -------------------------------------------------------------


@pytest.mark.parametrize(
    "typed,href",
    [
        ("10.1000/xyz123", "https://doi.org/10.1000/xyz123"),
        ("doi:10.1016/S0140-6736(20)30183-5", "https://doi.org/10.1016/S0140-6736(20)30183-5"),
        ("https://doi.org/10.1000/abc", "https://doi.org/10.1000/abc"),
        ("PMID: 31978945", "https://pubmed.ncbi.nlm.nih.gov/31978945/"),
        ("31978945", "https://pubmed.ncbi.nlm.nih.gov/31978945/"),
        ("https://example.org/paper", "https://example.org/paper"),
    ],
)
def test_a_citation_links_to_doi_org_or_pubmed(client, world, typed, href):
    assert citation_href(typed) == href
    client.force_login(world.member)
    response = client.post("/c/commons/library/add/", {**RESEARCH, "citation_link": typed})
    resource = Resource.objects.get()
    assert response.status_code == 302
    page = client.get(resource.get_absolute_url()).content.decode()
    assert f'href="{href}"' in page
    assert "The finding, in plain words" in page and "So what for practice?" in page
    assert "Try this" in page and RESEARCH["try_this"] in page


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"citation_link": ""}, "DOI or PubMed id, so readers can find it."),
        ({"citation_link": "javascript:alert(1)"}, "Give a DOI such as 10.1000/xyz123, a PubMed id"),
        ({"citation_link": "10.12/too-short-prefix"}, "Give a DOI such as"),
        ({"citation_link": "PMID: 12ab"}, "Give a DOI such as"),
        ({"citation_link": "http://doi.org/ 10.1000/x y"}, "Give a DOI such as"),
        ({"try_this": ""}, "Suggest one concrete thing to try."),
        ({"try_this": "x" * 501}, "Ensure this value has at most 500 characters"),
        ({"summary": ""}, "Summarise the findings in plain language."),
        ({"in_practice": ""}, "Say what this means in practice"),
    ],
)
def test_a_research_summary_needs_each_part_and_keeps_what_was_typed(client, world, changes, message):
    client.force_login(world.member)
    hostile = '<script>alert("x")</script> Try & see'
    data = {**RESEARCH, "title": hostile, **changes}
    if "try_this" not in changes:
        data["try_this"] = hostile
    response = client.post("/c/commons/library/add/", data)
    page = response.content.decode()
    assert response.status_code == 200 and not Resource.objects.exists()
    assert message in page
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; Try &amp; see" in page


# --- Committing --------------------------------------------------------------------------------


def test_a_member_commits_with_one_click_and_a_note(client, world):
    resource = research(world)
    client.force_login(world.member)
    page = client.get(resource.get_absolute_url()).content.decode()
    assert "I’ll try this" in page and "Nobody has said they’ll try this yet." in page
    response = client.post(
        f"/c/commons/library/{resource.pk}/try/", {"note": "On nights, with Sam", "try_by": "2030-01-31"}
    )
    assert response.status_code == 302
    commitment = Commitment.objects.get()
    assert commitment.user == world.member and commitment.note == "On nights, with Sam"
    assert str(commitment.try_by) == "2030-01-31"
    page = client.get(resource.get_absolute_url()).content.decode()
    assert "You said you’d try this by" in page and "On nights, with Sam" in page
    assert "<strong>1</strong> member said they’d try this" in page
    # Clicking again changes nothing; the resource's discussion exists for the report-backs.
    client.post(f"/c/commons/library/{resource.pk}/try/", {})
    assert Commitment.objects.count() == 1
    resource.refresh_from_db()
    assert resource.thread_id is not None


def test_a_rejected_commitment_keeps_the_note_and_says_why(client, world):
    resource = research(world)
    client.force_login(world.member)
    note = '<img src=x onerror=alert(1)> "quoted"'
    response = client.post(f"/c/commons/library/{resource.pk}/try/", {"note": note, "try_by": "not a date"})
    page = response.content.decode()
    assert response.status_code == 400 and not Commitment.objects.exists()
    assert "Enter a valid date." in page
    assert "&lt;img src=x onerror=alert(1)&gt; &quot;quoted&quot;" in page and "<img src=x" not in page
    response = client.post(f"/c/commons/library/{resource.pk}/try/", {"note": "n" * 301})
    assert response.status_code == 400 and "at most 300 characters" in response.content.decode()


def test_outsiders_and_visitors_cannot_commit(client, world):
    resource = research(world)
    client.force_login(world.outsider)
    assert "I’ll try this" not in client.get(resource.get_absolute_url()).content.decode()
    assert client.post(f"/c/commons/library/{resource.pk}/try/", {}).status_code == 403
    client.logout()
    response = client.post(f"/c/commons/library/{resource.pk}/try/", {})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    private = research(world, world.private, title="Private trial")
    client.force_login(world.outsider)
    assert client.post(f"/c/circle/library/{private.pk}/try/", {}).status_code == 404
    assert not Commitment.objects.exists()


# --- The asks: each exactly once --------------------------------------------------------------


def test_asked_at_day_n_exactly_once_then_once_more_and_never_again(world):
    resource = research(world)
    t0 = timezone.now()
    commit(world.member, resource, now=t0)
    assert services.ask_due(t0 + 29 * DAY) == 0 and not asks(world.member)
    assert services.ask_due(t0 + 30 * DAY) == 1
    # The beat run twice, a later run the same day: nobody is asked again.
    assert services.ask_due(t0 + 30 * DAY) == 0
    assert services.ask_due(t0 + 31 * DAY) == 0
    (note,) = asks(world.member)
    assert note.read_at is None and note.post.thread_id == resource.thread_id
    assert display.target_url(note) == f"/practice/asked/{resource.thread_id}/"
    Notification.objects.filter(pk=note.pk).update(read_at=timezone.now())
    # Not answered fourteen days later: asked once more (the same row comes back unread), then never.
    assert services.ask_due(t0 + 43 * DAY) == 0
    assert services.ask_due(t0 + 44 * DAY) == 1
    assert services.ask_due(t0 + 44 * DAY) == 0
    assert services.ask_due(t0 + 400 * DAY) == 0
    (note,) = asks(world.member)
    assert note.read_at is None
    commitment = Commitment.objects.get()
    assert commitment.asked_count == 2 and commitment.ask_due_at is None


def test_a_run_that_crashes_half_way_asks_nobody_twice(world, make_user):
    resource = research(world)
    t0 = timezone.now()
    people = [world.member, *(make_user(f"m{i}") for i in range(3))]
    for person in people[1:]:
        factories.membership(person, world.public)
    for person in people:
        commit(person, resource, now=t0)
    real = services._notify
    calls = []

    def crash_on_third(*args):
        calls.append(args)
        if len(calls) == 3:
            raise RuntimeError("worker killed")
        return real(*args)

    with mock.patch.object(services, "_notify", crash_on_third), pytest.raises(RuntimeError):
        services.ask_due(t0 + 30 * DAY)
    # The batch rolled back as a whole: no ask was recorded, no notification written.
    assert not Notification.objects.filter(kind="practice_ask").exists()
    assert set(Commitment.objects.values_list("asked_count", flat=True)) == {0}
    # The restarted worker's run asks each person once; the next run nobody.
    assert services.ask_due(t0 + 30 * DAY) == 4
    assert services.ask_due(t0 + 30 * DAY) == 0
    assert Notification.objects.filter(kind="practice_ask").count() == 4
    assert set(Commitment.objects.values_list("asked_count", flat=True)) == {1}


def test_a_stale_run_cannot_ask_again(world):
    """Two runs that read the same due row: the conditional UPDATE lets only the first one ask."""
    resource = research(world)
    t0 = timezone.now()
    commit(world.member, resource, now=t0)
    stale = list(Commitment.objects.all())
    assert services.ask_due(t0 + 30 * DAY) == 1
    # A run holding the row as it was (asked_count 0) finds nothing to change.
    changed = Commitment.objects.filter(pk=stale[0].pk, asked_count=stale[0].asked_count).update(asked_count=1)
    assert changed == 0
    assert len(asks(world.member)) == 1


def test_the_celery_task_takes_the_clock(world):
    from practice.tasks import ask_due

    resource = research(world)
    t0 = timezone.now()
    commit(world.member, resource, now=t0)
    assert ask_due.apply(kwargs={"now": (t0 + 30 * DAY).isoformat()}).get() == 1
    assert ask_due.apply(kwargs={"now": (t0 + 30 * DAY).isoformat()}).get() == 0


def test_answered_left_or_removed_are_not_asked(world, make_user):
    t0 = timezone.now()
    answered, leaver, removed = research(world, title="A"), research(world, title="B"), research(world, title="C")
    for resource in (answered, leaver, removed):
        commit(world.member, resource, now=t0)
    services.report_back(world.member, Commitment.objects.get(resource=answered), outcome="helped")
    resources.remove_resource(world.owner, removed)
    assert services.ask_due(t0 + 30 * DAY) == 1  # the leaver's resource, they haven't left yet
    Membership.objects.filter(user=world.member, community=world.public).update(state=Membership.State.LEFT)
    assert services.ask_due(t0 + 44 * DAY) == 0
    assert Commitment.objects.get(resource=answered).asked_count == 0
    assert Commitment.objects.get(resource=removed).asked_count == 0
    assert Commitment.objects.get(resource=leaver).asked_count == 1


def test_answering_after_the_first_ask_stops_the_second(world):
    resource = research(world)
    t0 = timezone.now()
    commitment = commit(world.member, resource, now=t0)
    services.ask_due(t0 + 30 * DAY)
    commitment.refresh_from_db()
    services.report_back(world.member, commitment, outcome="not_yet")
    assert services.ask_due(t0 + 60 * DAY) == 0
    assert asks(world.member)[0].read_at is not None


def test_each_community_chooses_when_to_ask(client, world):
    client.force_login(world.facilitator)
    response = client.post("/c/commons/practice/", {"ask_after_days": "10"})
    assert response.status_code == 302
    response = client.post("/c/commons/practice/", {"ask_after_days": "0"})
    assert response.status_code == 400 and "between 1 and 365" in response.content.decode()
    response = client.post("/c/commons/practice/", {"ask_after_days": "<b>ten</b>"})
    page = response.content.decode()
    assert response.status_code == 400 and "&lt;b&gt;ten&lt;/b&gt;" in page and "<b>ten" not in page
    client.force_login(world.member)
    assert client.post("/c/commons/practice/", {"ask_after_days": "2"}).status_code == 403
    resource = research(world)
    t0 = timezone.now()
    commit(world.member, resource, now=t0)
    assert services.ask_due(t0 + 9 * DAY) == 0
    assert services.ask_due(t0 + 10 * DAY) == 1


# --- Reporting back ----------------------------------------------------------------------------


def test_reporting_back_from_the_ask_posts_the_story_in_the_discussion(client, world):
    resource = research(world)
    t0 = timezone.now()
    commit(world.member, resource, now=t0)
    services.ask_due(t0 + 30 * DAY)
    client.force_login(world.member)
    link = display.target_url(asks(world.member)[0])
    page = client.get(link).content.decode()
    assert "Did you try it? What happened?" in page and RESEARCH["try_this"] in page
    # Nothing chosen, a hostile story: refused, the story kept and escaped.
    story = "Scored <b>two</b> patients; the night team kept it up."
    response = client.post(link, {"story": story})
    page = response.content.decode()
    assert response.status_code == 400 and "Choose what happened." in page
    assert "Scored &lt;b&gt;two&lt;/b&gt; patients" in page and not ReportBack.objects.exists()
    response = client.post(link, {"outcome": "bogus", "story": story})
    assert response.status_code == 400 and "Choose one of the answers." in response.content.decode()
    response = client.post(link, {"outcome": "helped", "story": story})
    assert response.status_code == 302
    report = ReportBack.objects.get()
    assert report.post is not None and report.post.thread_id == resource.thread_id
    assert "Scored &lt;b&gt;two&lt;/b&gt; patients" in report.post.body_html or "two" in report.post.body_html
    page = client.get(resource.get_absolute_url()).content.decode()
    assert "<strong>1</strong> tried it and reported back" in page
    assert '<tr class="outcome-helped"><th scope="row">Tried it, and it helped</th><td>1</td></tr>' in page
    assert f'href="/p/{report.post_id}/"' in page or f"/{report.post_id}" in page
    assert "Scored &lt;b&gt;two&lt;/b&gt; patients" in page
    assert asks(world.member)[0].read_at is not None


def test_someone_elses_ask_link_leads_nowhere(client, world):
    resource = research(world)
    commit(world.member, resource)
    client.force_login(world.facilitator)
    assert client.get(f"/practice/asked/{resource.thread_id}/").status_code == 404
    client.force_login(world.member)
    assert client.get(f"/practice/asked/{resource.thread_id}/").status_code == 200


def test_private_report_backs_stay_private_and_hidden_stories_go(client, world):
    private = research(world, world.private, title="Circle trial")
    commitment = commit(world.member, private)
    services.report_back(world.member, commitment, outcome="did_not_work", story="Secret quince story")
    client.force_login(world.outsider)
    assert client.get(private.get_absolute_url()).status_code == 404
    client.logout()
    assert client.get(private.get_absolute_url()).status_code == 404
    for path in ("/", "/c/commons/", "/feeds/latest/"):
        response = client.get(path)
        assert "Secret quince story" not in response.content.decode()
    client.force_login(world.outsider)  # signed in: pages drawn afresh (the anonymous cache bumps on commit)
    public = research(world, title="Public trial")
    commitment = commit(world.member, public)
    report = services.report_back(world.member, commitment, outcome="helped", story="Shown then hidden")
    assert "Shown then hidden" in client.get(public.get_absolute_url()).content.decode()
    discussions.hide_post(world.facilitator, report.post, "Off topic")
    page = client.get(public.get_absolute_url()).content.decode()
    assert "Shown then hidden" not in page
    assert "<strong>1</strong> tried it" in page  # the count stays; the story goes with its post


def test_the_ask_appears_in_the_next_digest_with_its_link(world):
    from tests.test_digest_content import digest_of, only, send, subscribe

    resource = research(world)
    subscribe(world.member, world.public)
    only(world.member, world.public)
    commit(world.member, resource, now=timezone.now() - 30 * DAY)
    assert services.ask_due(timezone.now()) == 1
    send()
    mail = digest_of(world.member)
    assert "Did you try it? What happened?" in mail.body_text
    assert f"/practice/asked/{resource.thread_id}/" in mail.body_text
    assert f"/practice/asked/{resource.thread_id}/" in mail.body_html


# --- The facilitator's report ------------------------------------------------------------------


def test_the_facilitator_sees_a_table_a_chart_and_a_safe_csv(client, world, make_user):
    resource = research(world, title='=HYPERLINK("http://evil.example","click")')
    other = make_user("nia")
    factories.membership(other, world.public)
    services.report_back(world.member, commit(world.member, resource), outcome="helped", story="Worked")
    commit(other, resource)
    client.force_login(world.facilitator)
    page = client.get("/c/commons/practice/").content.decode()
    assert "<svg" in page and "<title id=" in page and "<desc id=" in page
    assert "2 committed, 1 reported back, 1 tried" in page
    assert "=HYPERLINK(&#34;http://evil.example&#34;,&#34;click&#34;)" in page
    response = client.get("/c/commons/practice.csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:4] == ["month", "resource", "committed", "reported back"]
    assert rows[1][1] == "'" + resource.title
    assert rows[1][2:5] == ["2", "1", "1"]
    for person in (world.member, world.outsider):
        client.force_login(person)
        assert client.get("/c/commons/practice/").status_code == 403
        assert client.get("/c/commons/practice.csv").status_code == 403
    client.force_login(world.outsider)
    assert client.get("/c/circle/practice/").status_code == 404


# --- Query budget ------------------------------------------------------------------------------


# What the resource page costs a logged-in member, however many commitments and stories it has:
# the session comes from the cache (no query), then
#   1. the user;
#   2. the resource, with its community, who added, owns, endorsed and replaced it, its discussion,
#      whether the reader marked it helpful and the reader's membership (policy's cache: every
#      permission question on the page is answered from it);
#   3. its discussion links (the threads with their communities and authors);
#   4. its tags;
#   5. its value notes (value's block, with their authors);
#   6. the loop's counts, with the reader's own commitment and answer in the same row;
#   7. its newest stories the reader may see (a private community's never on a public page);
#   8. the bell (anything unread).
PAGE_BUDGET = 8
# An anonymous visitor on a public community's page (rendered, the whole-page cache off): no session,
# no user, no membership, no bell; the resource, its discussion links, tags, value notes, counts, stories.
VISITOR_BUDGET = 6


@pytest.fixture
def busy_research(world):
    """A research summary with a tag, a linked discussion, a value note, 1000 commitments and 600 answers,
    200 of them with a story in its (public) discussion, and one story whose post is in a private community."""
    from accounts.models import User
    from value import services as value
    from value.items import Item

    resource = research(world)
    resource.tags.add("assessment")
    thread = resources.start_discussion(world.owner, resource)
    opener = Post.objects.get(thread=thread, depth=0)
    linked = factories.thread(world.member, world.public, title="Night shift pain scores")
    resources.link_thread(world.facilitator, resource, linked, "discussed_in")
    value.add_note(world.facilitator, Item(world.public, resource=resource), cycle="applied", text="Scored hourly now.")
    secret = factories.thread(world.owner, world.private, title="Circle talk")
    secret_post = Post.objects.get(thread=secret, depth=0)
    users = User.objects.bulk_create([User(username=f"p{i}", email=f"p{i}@example.org") for i in range(1000)])
    commitments = Commitment.objects.bulk_create([Commitment(resource=resource, user=u) for u in users])
    outcomes = ReportBack.Outcome.values
    ReportBack.objects.bulk_create(
        [
            ReportBack(
                commitment=c,
                resource=resource,
                user_id=c.user_id,
                outcome=outcomes[i % len(outcomes)],
                story=f"Story {i}" if i < 200 else "Secret quince story" if i == 599 else "",
                post=opener if i < 200 else secret_post if i == 599 else None,
            )
            for i, c in enumerate(commitments[:600])
        ]
    )
    return resource, users


def assert_the_page_shows_it_all(page: str, *, reads_the_circle: bool = False) -> None:
    assert "<strong>1000</strong> members said they’d try this" in page
    stories = page.split('<ul class="loop-stories">')[1].split("</ul>")[0]
    assert stories.count("<li>") == 10  # the newest ten, not two hundred
    # The story told in the private community: only for those who may read its discussion.
    assert ("Secret quince story" in stories) is reads_the_circle
    assert "Night shift pain scores" in page  # the linked discussion
    assert "Scored hourly now." in page  # the value note
    assert "?tag=assessment" in page  # the tag


def test_the_resource_page_with_1000_commitments_and_200_stories_stays_within_budget(
    client, busy_research, world, django_assert_max_num_queries
):
    resource, users = busy_research
    client.force_login(world.member)
    client.get(resource.get_absolute_url())
    with django_assert_max_num_queries(PAGE_BUDGET) as captured:
        page = client.get(resource.get_absolute_url()).content.decode()
    print(f"resource page with 1000 commitments, 200 stories: {len(captured)} queries")
    assert_the_page_shows_it_all(page, reads_the_circle=True)  # Mira is a member of the circle too
    assert "I’ll try this" in page
    # A member who committed and answered: their own line costs no extra query.
    client.force_login(users[0])
    client.get(resource.get_absolute_url())
    with django_assert_max_num_queries(PAGE_BUDGET):
        page = client.get(resource.get_absolute_url()).content.decode()
    assert "You said you’d try this and reported back" in page
    assert_the_page_shows_it_all(page)


def test_a_visitor_reads_the_busy_resource_page_in_fewer_queries(
    client, busy_research, settings, django_assert_max_num_queries
):
    settings.PAGE_CACHE_SECONDS = 0  # measure the rendering, not a cache hit
    resource, _ = busy_research
    with django_assert_max_num_queries(VISITOR_BUDGET) as captured:
        page = client.get(resource.get_absolute_url()).content.decode()
    print(f"resource page for a visitor: {len(captured)} queries")
    assert VISITOR_BUDGET < PAGE_BUDGET
    assert_the_page_shows_it_all(page)
    assert "I’ll try this" not in page and "You said you’d try this" not in page


@pytest.mark.django_db(transaction=True)
def test_three_runs_at_once_ask_each_person_once(world, make_user):
    from tests.concurrency import run_together
    from tests.services import database_is_postgres

    if not database_is_postgres():
        pytest.skip("row locks need PostgreSQL")
    resource = research(world)
    t0 = timezone.now()
    people = [world.member, *(make_user(f"r{i}") for i in range(5))]
    for person in people[1:]:
        factories.membership(person, world.public)
    for person in people:
        services.commit(person, resource, now=t0)
    due = t0 + 30 * DAY
    results = run_together(*(lambda: services.ask_due(due) for _ in range(3)))
    assert sorted(results, reverse=True)[0] >= 1 and sum(results) == len(people)
    assert Notification.objects.filter(kind="practice_ask").count() == len(people)
    assert set(Commitment.objects.values_list("asked_count", flat=True)) == {1}


def test_a_second_answer_replaces_the_first_and_leavers_cannot_answer(client, world):
    resource = research(world)
    commitment = commit(world.member, resource)
    services.report_back(world.member, commitment, outcome="not_yet")
    services.report_back(world.member, commitment, outcome="helped", story="Did it in the end.")
    report = ReportBack.objects.get()
    assert report.outcome == "helped" and report.post is not None
    client.force_login(world.member)
    page = client.get(resource.get_absolute_url()).content.decode()
    assert "reported back: <strong>Tried it, and it helped</strong>" in page
    Membership.objects.filter(user=world.member, community=world.public).update(state=Membership.State.LEFT)
    commitment = Commitment.objects.get(pk=commitment.pk)  # read afresh: no remembered membership
    with pytest.raises(services.PracticeError):
        services.report_back(world.member, commitment, outcome="did_not_work")
    with pytest.raises(services.PracticeError):
        services.report_back(world.facilitator, commitment, outcome="did_not_work")
