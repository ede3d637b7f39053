"""What a digest says about each item (excerpts, answers, counts, the celebrate block), its subject line,
its layout for mail clients, when the first one comes, and what building it costs."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from html import escape
from html.parser import HTMLParser
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from playwright.sync_api import expect

from communities.models import Community, Membership
from core.models import OutboundEmail
from digests import building, content, planning, services
from digests.models import DigestRun
from discussions import services as discussions
from discussions.models import Post, Thread
from resources.models import Resource
from tests import factories
from tests.browser import SCREENSHOTS

pytestmark = pytest.mark.django_db
UTC = ZoneInfo("UTC")

LONG_BODY = (
    "Our ward moved the **night** checks to a two-hourly rhythm last spring, and the first thing we noticed "
    "was that patients slept longer and asked for fewer extra doses. The second thing was harder: handover "
    "notes grew, because every gap needed a reason written down. We trimmed the template twice before it "
    "settled. Here is what we kept, what we dropped, and what we would tell any team starting the same "
    "change tomorrow morning without the benefit of our mistakes."
)


def subscribe(person, community, *, cadence="daily"):
    """``person`` gets ``community``'s digest at midnight UTC (their hour has always passed an hour from now)."""
    membership = Membership.objects.filter(user=person, community=community).first()
    if membership is None:
        factories.membership(person, community, digest_cadence=cadence)
    else:
        Membership.objects.filter(pk=membership.pk).update(digest_cadence=cadence, state="active")
    type(person).objects.filter(pk=person.pk).update(digest_hour=0, time_zone="UTC")


def only(person, community):
    """Digests from ``community`` alone: the person's other memberships send none."""
    Membership.objects.filter(user=person).exclude(community=community).update(digest_cadence="off")


def send(now=None):
    now = now or timezone.now() + timedelta(hours=1)
    ids = planning.plan(now)
    if ids:
        building.build(ids, now)


def digest_of(person) -> OutboundEmail:
    return OutboundEmail.objects.get(to=person.email, kind="digest")


def everything(mail: OutboundEmail) -> str:
    return mail.subject + mail.body_text + mail.body_html


# --- Excerpts -----------------------------------------------------------------------------------


def test_an_excerpt_is_cut_at_a_word_with_an_ellipsis():
    cut = content.excerpt(LONG_BODY)
    assert len(cut) <= 300 and cut.endswith("…")
    kept = cut[:-1]
    flat = " ".join(LONG_BODY.split())
    assert flat.startswith(kept) and flat[len(kept)] == " "  # the next character was a space: a whole word
    assert content.excerpt("Short one.\n\nTwo   lines") == "Short one. Two lines"
    assert content.excerpt("word " * 100, 20) == "word word word word…"
    assert content.excerpt("x" * 400, 50) == "x" * 49 + "…"  # one endless word: cut where it must be


# --- Items --------------------------------------------------------------------------------------


def test_a_new_thread_shows_its_kind_author_plain_text_excerpt_and_counts(world):
    subscribe(world.outsider, world.public)
    thread = discussions.start_thread(world.member, world.public, title="Two-hourly night checks", body=LONG_BODY)
    factories.replies(thread, 2, by=[world.facilitator, world.owner])
    discussions.toggle_helpful(world.facilitator, thread.opening_post)
    discussions.toggle_helpful(world.owner, thread.opening_post)
    send()
    mail = digest_of(world.outsider)
    expected = content.excerpt(thread.opening_post.body_text)
    assert expected.endswith("…") and "patients slept longer" in expected
    # From the stored plain text: no markup, no HTML.
    assert "**" not in expected and "<strong>" not in expected
    assert "Discussion by Mira Member · 2 replies · 2 found it helpful" in mail.body_text
    assert "patients slept longer" in mail.body_text and expected.split()[-1] in mail.body_text
    assert ">Discussion · by Mira Member</p>" in mail.body_html
    assert f">{expected}</p>" in mail.body_html
    assert "2 replies · 2 found it helpful" in mail.body_html
    assert "<strong>night</strong>" not in mail.body_html


def test_markup_typed_into_a_post_is_text_in_both_parts(world):
    subscribe(world.outsider, world.public)
    body = "Try `<script>alert(1)</script>` & <b>this</b> tip: 5 < 6."
    thread = discussions.start_thread(world.member, world.public, title="<i>Tags</i> & titles", body=body)
    send()
    mail = digest_of(world.outsider)
    stored = thread.opening_post.body_text
    assert "<script>alert(1)</script>" in stored  # the code span, as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in mail.body_html and "<script>" not in mail.body_html
    assert "&lt;i&gt;Tags&lt;/i&gt; &amp; titles" in mail.body_html and "<i>" not in mail.body_html
    assert content.excerpt(stored) in mail.body_text and "- <i>Tags</i> & titles" in mail.body_text


def test_a_question_says_whether_it_is_answered_and_shows_the_answer(world):
    subscribe(world.outsider, world.public)
    answered = discussions.start_thread(
        world.member, world.public, title="Which pain scale at night?", body="Looking for one.", kind="question"
    )
    accepted = discussions.reply(world.facilitator, answered, "Use the abbey scale; it takes a minute per patient.")
    popular = discussions.reply(world.owner, answered, "Popular but not accepted: PAINAD everywhere.")
    discussions.toggle_helpful(world.facilitator, popular)
    discussions.accept_answer(world.member, answered, accepted)
    open_question = discussions.start_thread(
        world.member, world.public, title="Who charts the rounds?", body="Asking for the rota.", kind="question"
    )
    helpful = discussions.reply(world.owner, open_question, "The nurse in charge does, at our place.")
    discussions.toggle_helpful(world.member, helpful)
    discussions.start_thread(world.member, world.public, title="Nobody knows yet?", body="Silence.", kind="question")
    send()
    mail = digest_of(world.outsider)
    text = mail.body_text
    block = text.split("- Which pain scale at night?")[1].split("\n- ")[0]
    assert "[Answered] Accepted answer from Fern Facilitator:" in block
    assert "> Use the abbey scale; it takes a minute per patient." in block
    assert "Popular but not accepted" not in text
    block = text.split("- Who charts the rounds?")[1].split("\n- ")[0]
    assert "[No accepted answer yet] Most helpful reply, from Olive Owner:" in block
    assert "> The nurse in charge does, at our place." in block
    assert "[Not answered yet]" in text.split("- Nobody knows yet?")[1]
    html = mail.body_html
    assert "Answered</span> Accepted answer from Fern Facilitator:" in html
    assert ">Use the abbey scale; it takes a minute per patient.</p>" in html
    assert "Not answered yet</span>" in html
    assert mail.subject == "3 new questions in Ward Commons, 1 answered"


def test_a_research_summary_shows_its_in_practice_line_and_a_resource_its_kind(world):
    subscribe(world.outsider, world.public)
    factories.resource(
        world.member,
        world.public,
        kind=Resource.Kind.RESEARCH,
        title="Night-time repositioning trial",
        summary="A trial of **two-hourly** turns.",
        in_practice="Turn at the *two-hour* mark and chart it.\n\nA second paragraph stays out.",
        citation_title="Turning",
    )
    factories.resource(world.member, world.public, kind=Resource.Kind.TOOL, title="Rota sheet", description="A sheet.")
    send()
    mail = digest_of(world.outsider)
    assert "- Night-time repositioning trial (research summary)" in mail.body_text
    assert "  In practice: Turn at the two-hour mark and chart it." in mail.body_text
    assert "second paragraph" not in mail.body_text + mail.body_html
    assert "In practice:</strong> Turn at the two-hour mark and chart it.</p>" in mail.body_html
    assert ">Research summary · added by Mira Member</p>" in mail.body_html
    assert "- Rota sheet (tool or template)" in mail.body_text and "A sheet." in mail.body_text
    assert mail.subject == "2 new resources in Ward Commons"


# --- Visibility ---------------------------------------------------------------------------------


def test_held_hidden_deleted_and_private_text_never_reaches_a_digest(world, make_user, conversation):
    subscribe(world.outsider, world.public)
    # A held thread, and a newcomer's held first post: neither is shown, nor celebrated.
    discussions.start_thread(world.member, world.public, title="Heron held", body="heron text", suspected_spam=True)
    newcomer = make_user("hal", display_name="Hal Heldpost")
    factories.membership(newcomer, world.public)
    discussions.reply(newcomer, conversation.thread, "held hornet words", suspected_spam=True)
    # A question whose accepted answer was hidden afterwards, and whose most helpful reply was deleted.
    question = discussions.start_thread(
        world.member, world.public, title="Which dressing?", body="For skin tears.", kind="question"
    )
    hidden = discussions.reply(world.facilitator, question, "hidden hyena answer")
    discussions.accept_answer(world.member, question, hidden)
    discussions.hide_post(world.owner, hidden, "off topic")
    deleted = discussions.reply(world.owner, question, "deleted dingo answer")
    discussions.toggle_helpful(world.member, deleted)
    discussions.delete_post(world.owner, deleted)
    # A hidden opening post.
    gone = discussions.start_thread(world.member, world.public, title="Hidden ibis", body="ibis text")
    discussions.hide_post(world.owner, gone.opening_post, "spam")
    # A private community's thread (conversation.private_thread) and a first post there.
    discussions.reply(world.facilitator, conversation.private_thread, "private puffin reply")
    send()
    mail = digest_of(world.outsider)
    for secret in (
        "heron",
        "Hal Heldpost",
        "hornet",
        "hyena",
        "dingo",
        "ibis",
        "Yak",
        "Quokka",
        "puffin",
        "Zebra",
    ):
        assert secret not in everything(mail), secret
    assert "- Which dressing?" in mail.body_text
    assert "[Not answered yet]" in mail.body_text.split("- Which dressing?")[1].split("\n- ")[0]
    # A member of the private community gets its content.
    subscribe(world.facilitator, world.private)
    only(world.facilitator, world.private)
    send()
    assert "Yak canary case" in digest_of(world.facilitator).body_text


# --- Celebrate ----------------------------------------------------------------------------------


def test_celebrate_names_first_contributions_and_stories_of_the_period(world, make_user, conversation):
    subscribe(world.outsider, world.public)
    only(world.outsider, world.public)
    # Olive posted before the window: her reply today is not a first.
    earlier = discussions.reply(world.owner, conversation.thread, "Long-standing member here.")
    Post.objects.filter(pk=earlier.pk).update(created_at=timezone.now() - timedelta(days=10))
    discussions.reply(world.owner, conversation.thread, "Olive again.")
    nia = make_user("nia", display_name="Nia Newcomer")
    factories.membership(nia, world.public)
    discussions.reply(nia, conversation.thread, "Hello all, first time posting.")
    discussions.reply(nia, conversation.thread, "And a second post.")
    discussions.start_thread(
        world.owner, world.public, title="Our first pain-free night", body="It worked.", kind="story"
    )
    send()
    mail = digest_of(world.outsider)
    text = mail.body_text
    celebrate = text.split("\nCelebrate\n")[1].split("\nFewer emails")[0]
    assert '- First post from Nia Newcomer, in "How do you assess pain in delirium?"' in celebrate
    assert "- Story: Our first pain-free night by Olive Owner" in celebrate
    assert "First post from Olive" not in text
    assert celebrate.count("Nia Newcomer") == 1  # her first post only
    # Mira and Fern had no visible post before the window either: their posts of today are firsts too.
    assert "First post from Mira Member" in celebrate and "First post from Fern Facilitator" in celebrate
    html = mail.body_html
    assert ">Celebrate</h3>" in html
    assert 'First post from <strong style="color:#1b1e23;">Nia Newcomer</strong>' in html
    assert 'by <strong style="color:#1b1e23;">Olive Owner</strong>' in html


# --- Subject lines ------------------------------------------------------------------------------


def section(name: str, *, questions=0, answered=0, discussions_=0, stories=0, **lists: int) -> content.Section:
    """A section as building.subject_for sees it: new ``questions`` (``answered`` of them), other threads, stories,
    and ``lists`` of other items by their Section name (``open_questions`` for the "can you help?" ones)."""
    community = Community(name=name, slug=name.lower().replace(" ", "-")[:50])
    community.pk = abs(hash(name)) % 10_000
    made = content.Section(community)
    pk = iter(range(1, 1000))
    for i in range(questions):
        thread = Thread(pk=next(pk), kind=Thread.Kind.QUESTION, title=f"q{i}")
        made.threads.append(thread)
        made.notes["thread", thread.pk] = content.Note(answered=i < answered)
    made.threads += [Thread(pk=next(pk), kind=Thread.Kind.DISCUSSION) for _ in range(discussions_)]
    made.stories += [Thread(pk=next(pk), kind=Thread.Kind.STORY) for _ in range(stories)]
    for name_, count in lists.items():
        getattr(made, "questions" if name_ == "open_questions" else name_).extend([object()] * count)
    return made


@pytest.mark.parametrize(
    ("sections", "subject"),
    [
        (
            [section("Acute Pain Practice", questions=3, answered=1)],
            "3 new questions in Acute Pain Practice, 1 answered",
        ),
        ([section("Acute Pain Practice", questions=1)], "1 new question in Acute Pain Practice"),
        (
            [section("Ward Commons", questions=2, answered=1, discussions_=1), section("Rehab Guild", stories=2)],
            "5 new threads in 2 communities, 1 question answered",
        ),
        (
            [section("Ward Commons", questions=2, answered=2, discussions_=3)],
            "5 new threads in Ward Commons, 2 questions answered",
        ),
        ([section("Ward Commons", discussions_=1)], "1 new thread in Ward Commons"),
        ([section("Ward Commons", open_questions=2)], "2 questions you could answer in Ward Commons"),
        ([section("Ward Commons", resources=1)], "1 new resource in Ward Commons"),
        ([section("Ward Commons", replies=2, for_you=1)], "3 replies for you in Ward Commons"),
        ([section("Ward Commons", chats=1), section("Rehab Guild", chats=1)], "2 chats you missed in 2 communities"),
        ([section("Ward Commons", events=1)], "What's new in Ward Commons"),
    ],
)
def test_subject_lines_say_what_is_inside(sections, subject):
    made = building.subject_for(sections)
    if subject is not None:
        assert made == subject
    assert made and len(made) <= building.SUBJECT_LIMIT


def test_later_parts_of_a_subject_fit_or_go():
    ward = section("Ward Commons", discussions_=2, open_questions=2, resources=3, chats=1)
    # 94 characters with every part: the last one goes, whole.
    assert (
        building.subject_for([ward]) == "2 new threads in Ward Commons, 2 questions you could answer, 3 new resources"
    )
    ward = section("Ward Commons", discussions_=2, open_questions=2, resources=3)
    assert (
        building.subject_for([ward]) == "2 new threads in Ward Commons, 2 questions you could answer, 3 new resources"
    )
    long_name = "The Very Long Name of a Community of Practice for Acute and Chronic Pain in Older Adults " * 2
    made = building.subject_for([section(long_name, questions=3, answered=1)])
    assert made.startswith("3 new questions in The Very Long Name") and len(made) <= building.SUBJECT_LIMIT
    assert building.subject_for([]) != ""


# --- When the first digest comes ----------------------------------------------------------------


@pytest.mark.parametrize(("chosen_at", "first"), [("15:00", "2030-01-16 08:00"), ("07:00", "2030-01-15 08:00")])
def test_the_first_digest_comes_at_the_next_delivery_hour_after_choosing(world, make_user, chosen_at, first):
    berlin = ZoneInfo("Europe/Berlin")
    reader = make_user("cora", time_zone="Europe/Berlin", digest_hour=8)
    factories.membership(reader, world.public, digest_cadence="off")
    hour, minute = map(int, chosen_at.split(":"))
    choice = datetime(2030, 1, 15, hour, minute, tzinfo=berlin)
    with mock.patch("digests.services.timezone.now", return_value=choice):
        services.set_cadence(reader, world.public, "daily")
    runs = DigestRun.objects.filter(user=reader)
    # Beat ticks every quarter of an hour from the choice on, for a day and a half.
    tick = choice
    while not runs.exists() and tick < choice + timedelta(hours=36):
        planning.plan(tick.astimezone(UTC))
        tick += timedelta(minutes=15)
    run = runs.get()
    assert run.due_at.astimezone(berlin).strftime("%Y-%m-%d %H:%M") == first
    assert run.created_at.astimezone(berlin).strftime("%Y-%m-%d %H:%M") == first  # planned at that tick, not before


def test_a_cadence_chosen_after_a_planned_run_waits_for_the_next_one(world, conversation):
    """Built later than planned (a slow queue), the run leaves out a community chosen after its hour."""
    subscribe(world.outsider, world.public)
    now = timezone.now() + timedelta(hours=1)
    ids = planning.plan(now)
    Membership.objects.filter(user=world.outsider, community=world.public).update(
        digest_chosen_at=now - timedelta(minutes=1)
    )
    DigestRun.objects.filter(user=world.outsider).update(due_at=now - timedelta(minutes=30))
    building.build(ids, now)
    assert DigestRun.objects.get(user=world.outsider).state == DigestRun.State.SKIPPED


# --- Layout and the text part -------------------------------------------------------------------


class Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, dict[str, str]]] = []
        self.in_body = False

    def handle_starttag(self, tag, attrs):
        if tag == "body":
            self.in_body = True
        self.found.append((tag, {k: v or "" for k, v in attrs}))


@pytest.fixture
def full_digest(world, make_user, conversation):
    """One digest with every kind of block: threads, an answered question, questions to answer, celebrate, library."""
    subscribe(world.outsider, world.public)
    only(world.outsider, world.public)
    discussions.start_thread(world.member, world.public, title="Two-hourly night checks", body=LONG_BODY)
    discussions.accept_answer(world.member, conversation.thread, conversation.answer)
    factories.thread(
        world.owner,
        world.public,
        title="Anyone tried weighted blankets?",
        body="For agitation at dusk.",
        kind="question",
        created_at=timezone.now() - timedelta(days=2),
    )
    nia = make_user("nia", display_name="Nia Newcomer")
    factories.membership(nia, world.public)
    discussions.reply(nia, conversation.thread, "Hello all, first time posting. https://example.org/" + "a" * 120)
    discussions.start_thread(
        world.owner, world.public, title="Our first pain-free night", body="It worked.", kind="story"
    )
    factories.resource(
        world.member,
        world.public,
        kind=Resource.Kind.RESEARCH,
        title="Night-time repositioning trial",
        summary="A trial.",
        in_practice="Turn at the two-hour mark and chart it.",
        citation_title="Turning",
    )
    send()
    return digest_of(world.outsider)


def test_the_html_is_one_inline_styled_column_with_a_preheader(full_digest):
    html = full_digest.body_html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "max-width:600px" in html and "<img" not in html
    body = html.split("<body", 1)[1]
    first = re.search(r">\s*<(\w+)([^>]*)>", body)
    assert first and first.group(1) == "div" and "display:none" in first.group(2)  # the preheader comes first
    preheader = body.split(">", 2)[2].split("<")[0]
    assert "Two-hourly night checks" in preheader
    # Every element in the body carries its own style; blocks their own text and background colours.
    parser = Elements()
    parser.feed(html)
    in_body = False
    for tag, attrs in parser.found:
        in_body = in_body or tag == "body"
        if not in_body or tag in ("br", "tr", "time", "abbr"):
            continue
        style = attrs.get("style", "")
        assert style, f"<{tag}> has no inline style"
        if tag in ("body", "table", "td", "div"):
            assert "background-color:" in style and re.search(r"(^|;)color:", style), (tag, style)
        if tag in ("p", "h2", "h3", "a", "strong"):
            assert re.search(r"(^|;)color:", style), (tag, style)
        # No white text: on a transparent background a dark mode would make it invisible.
        assert not re.search(r"(^|;)color:#fff(fff)?\b", style), (tag, style)
    # Without the <style> block (dropped by many clients) nothing depends on a class.
    without = re.sub(r"<style>.*?</style>", "", html, flags=re.S)
    assert "class=" not in re.sub(r' class="dg-(page|sheet)"', "", without)


def test_the_text_part_carries_the_same_content(full_digest, world):
    text = full_digest.body_text
    assert text.startswith("Hello Otto Outsider,")
    for expected in (
        "New conversations",
        "- Two-hourly night checks",
        "Discussion by Mira Member · 0 replies · 0 found it helpful",
        "patients slept longer",
        "[Answered] Accepted answer from Fern Facilitator:",
        "> Try the abbey scale first.",
        "Can you help?",
        "- Anyone tried weighted blankets? (asked by Olive Owner, no reply yet)",
        "Celebrate",
        "- First post from Nia Newcomer",
        "- Story: Our first pain-free night by Olive Owner",
        "In practice: Turn at the two-hour mark and chart it.",
        "http://",
        "Fewer emails from Ward Commons: ",
    ):
        assert expected in text, expected
    assert "<p" not in text and "<div" not in text and "&amp;" not in text
    # The subject says what is inside, from the same counts.
    assert full_digest.subject == "3 new threads in Ward Commons, 1 question answered, 1 question you could answer"


# --- Cost ---------------------------------------------------------------------------------------


def build_queries(world, make_user, count: int, prefix: str) -> tuple[int, int]:
    people = []
    for i in range(count):
        person = make_user(f"{prefix}{i}", display_name=f"Reader {prefix}{i}")
        factories.membership(person, world.public, digest_cadence="daily")
        type(person).objects.filter(pk=person.pk).update(digest_hour=0, time_zone="UTC")
        people.append(person)
    now = timezone.now() + timedelta(hours=1)
    ids = planning.plan(now)
    with CaptureQueriesContext(connection) as queries:
        building.build(ids, now)
    sent = OutboundEmail.objects.filter(to__in=[p.email for p in people], kind="digest").count()
    DigestRun.objects.all().delete()
    OutboundEmail.objects.all().delete()
    return len(queries), sent


@pytest.mark.parametrize("reply_by_email", [False, True], ids=["plain", "with-reply-addresses"])
def test_building_costs_the_same_queries_for_2_or_12_readers(world, make_user, conversation, settings, reply_by_email):
    settings.REPLY_BY_EMAIL, settings.REPLY_DOMAIN = reply_by_email, "copsite.test"
    Membership.objects.exclude(user__username__startswith="r").update(digest_cadence="off")
    discussions.start_thread(world.member, world.public, title="Two-hourly night checks", body=LONG_BODY)
    discussions.accept_answer(world.member, conversation.thread, conversation.answer)
    discussions.start_thread(
        world.owner, world.public, title="Our first pain-free night", body="It worked.", kind="story"
    )
    few, few_sent = build_queries(world, make_user, 2, "ra")
    Membership.objects.filter(user__username__startswith="ra").update(digest_cadence="off")
    many, many_sent = build_queries(world, make_user, 12, "rb")
    assert (few_sent, many_sent) == (2, 12)
    assert many == few, (few, many)
    assert many <= 25, many  # 19 today; 22 with reply addresses (one read, one update, one insert)


ADDRESS = re.compile(r"reply\+[a-z2-7]{1,13}-[a-z2-7]{16}@copsite\.test")


def test_each_conversation_carries_the_readers_own_reply_address_and_answering_it_posts(
    world, make_user, conversation, settings
):
    from replies import inbound

    settings.REPLY_BY_EMAIL, settings.REPLY_DOMAIN = True, "copsite.test"
    Membership.objects.update(digest_cadence="off")
    thread = discussions.start_thread(world.member, world.public, title="Two-hourly night checks", body=LONG_BODY)
    readers = [make_user(f"rx{i}", display_name=f"Reader {i}") for i in range(2)]
    for reader in readers:
        subscribe(reader, world.public)
    send()
    mine = {}
    for reader in readers:
        mail = digest_of(reader)
        in_text = ADDRESS.findall(mail.body_text)
        in_html = re.findall(r'href="mailto:(reply\+[^"]+)"', mail.body_html)
        assert in_text and in_text == in_html  # each conversation, in both parts
        assert f"Reply by email: {in_text[0]}" in mail.body_text and ">Reply by email</a>" in mail.body_html
        mine[reader.pk] = in_text
    first, second = (set(mine[r.pk]) for r in readers)
    assert not first & second  # one's address is never another's

    # The first reader answers the new thread from their phone: the reply is theirs, in that thread.
    lines = digest_of(readers[0]).body_text.split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith("- Two-hourly night checks"))
    address = ADDRESS.search("\n".join(lines[at:])).group(0)
    raw = (
        f"From: Reader 0 <{readers[0].email}>\r\nTo: <{address}>\r\nSubject: Re: your digest\r\n"
        "Message-ID: <digest-answer-1@phone.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "We chart at two too, and it helps.\r\n"
    ).encode()
    receipt = inbound.receive(raw, source="test")
    assert receipt.outcome == "posted", receipt
    post = Post.objects.get(pk=receipt.post_id)
    assert (post.thread_id, post.author_id, post.body.strip()) == (
        thread.pk,
        readers[0].pk,
        "We chart at two too, and it helps.",
    )


def test_a_digest_without_reply_by_email_has_no_reply_lines(world, make_user, conversation, settings):
    settings.REPLY_BY_EMAIL = False
    Membership.objects.update(digest_cadence="off")
    discussions.start_thread(world.member, world.public, title="Two-hourly night checks", body=LONG_BODY)
    reader = make_user("ry0")
    subscribe(reader, world.public)
    send()
    mail = digest_of(reader)
    assert "Reply by email" not in mail.body_text + mail.body_html and "copsite-reply" not in mail.body_html


# --- In a browser -------------------------------------------------------------------------------


@pytest.mark.browser
def test_the_digest_reads_right_in_chromium_at_390_and_1280_pixels(browser, full_digest):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    text_page = (
        '<!DOCTYPE html><html><head><meta name="viewport" content="width=device-width, initial-scale=1"></head>'
        '<body style="margin:8px;background-color:#ffffff;color:#1b1e23;">'
        '<pre style="white-space:pre-wrap;overflow-wrap:anywhere;font-size:13px;">'
        f"{escape(full_digest.body_text)}</pre></body></html>"
    )
    for width, document, name in (
        (390, full_digest.body_html, "digest-390"),
        (1280, full_digest.body_html, "digest-1280"),
        (390, text_page, "digest-text-390"),
    ):
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        page.set_content(document)
        if width == 390:
            assert page.evaluate("document.scrollingElement.scrollWidth") <= 390, name
        for visible in ("patients slept longer", "Nia Newcomer", "Our first pain-free night", "Try the abbey scale"):
            expect(page.get_by_text(visible, exact=False).first).to_be_visible()
        if document is full_digest.body_html:
            # The preheader is there for inbox lists, not for the eye.
            expect(page.locator("body > div").first).to_be_hidden()
            sheet = page.locator("table table").first.bounding_box()
            assert sheet and sheet["width"] <= 600
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
        context.close()
