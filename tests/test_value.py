"""Value notes: members say what a thread, a post or a resource did for them; facilitators read the value report."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from communities import participation
from communities.models import Activity
from discussions import services as discussions
from tests import factories
from value import services
from value.items import Item
from value.models import ValueNote

pytestmark = pytest.mark.django_db


def add_url(kind, pk):
    return reverse("value:add", kwargs={"kind": kind, "pk": pk})


def logged_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def handbook(world):
    return factories.resource(world.owner, world.public, title="Night handover card", description="Use it.")


@pytest.fixture
def private_card(world):
    return factories.resource(world.owner, world.private, title="Quokka tapering card", description="Private.")


REALISED = {
    "cycle": "realised",
    "text": "We used the card for a month.",
    "measure": "Missed handover items went from 5 to 1 a week",
    "share_in_digest": "on",
}


# --- Adding a note ------------------------------------------------------------------------------


def test_a_member_adds_a_realised_note_to_a_resource_and_it_shows_under_its_cycle(client, world, handbook):
    logged_in(client, world.member)
    form = client.get(add_url("resource", handbook.pk))
    assert form.status_code == 200
    assert "Realised value" in form.text and "Reframing value" in form.text
    # Public community: the digest tick is on by default.
    assert re.search(r'name="share_in_digest"[^>]*checked', form.text)
    response = client.post(add_url("resource", handbook.pk), REALISED)
    assert response.status_code == 302 and response["Location"] == handbook.get_absolute_url()
    note = ValueNote.objects.get()
    assert (note.resource_id, note.author_id, note.cycle, note.share_in_digest) == (
        handbook.pk,
        world.member.pk,
        "realised",
        True,
    )
    page = client.get(handbook.get_absolute_url()).text
    section = page.split('class="value-cycle value-cycle-realised"')[1]
    assert "Realised value" in section and "We used the card for a month." in section
    assert "Missed handover items went from 5 to 1 a week" in section
    assert "value-cycle-immediate" not in page


def test_the_digest_tick_is_off_by_default_in_a_private_community(client, world, private_card):
    form = logged_in(client, world.member).get(add_url("resource", private_card.pk)).text
    assert 'name="share_in_digest"' in form
    assert not re.search(r'name="share_in_digest"[^>]*checked', form)


def test_realised_value_without_what_changed_is_refused_and_the_text_kept(client, world, handbook):
    logged_in(client, world.member)
    response = client.post(add_url("resource", handbook.pk), {**REALISED, "measure": "  "})
    assert response.status_code == 200
    assert "Say what changed: realised value needs a measure." in response.text
    assert "We used the card for a month." in response.text
    assert not ValueNote.objects.exists()


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"cycle": "", "text": "Helped."}, "Choose the kind of value."),
        ({"cycle": "priceless", "text": "Helped."}, "Choose one of the kinds of value."),
        ({"cycle": "immediate", "text": "   "}, "Say in a sentence what it did for you."),
        ({"cycle": "immediate", "text": "x" * 2001}, "Keep it to 2,000 characters"),
        ({"cycle": "realised", "text": "Helped.", "measure": "m" * 301}, "Keep it to 300 characters"),
        ({"cycle": "immediate", "text": "Helped\x00 me."}, "Null characters are not allowed."),
    ],
)
def test_an_invalid_note_says_what_is_wrong_and_saves_nothing(client, world, handbook, data, error):
    response = logged_in(client, world.member).post(add_url("resource", handbook.pk), data)
    assert response.status_code == 200
    assert error in response.text
    assert not ValueNote.objects.exists()
    assert not Activity.objects.filter(kind="value").exists()


HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(1)> {{ 7*7 }} [x](javascript:alert(1))'


def test_hostile_text_is_shown_as_text_on_the_item_and_in_the_report(client, world, handbook):
    logged_in(client, world.member)
    client.post(add_url("resource", handbook.pk), {**REALISED, "text": HOSTILE, "measure": HOSTILE})
    assert ValueNote.objects.get().text == HOSTILE
    for url in (handbook.get_absolute_url(),):
        page = client.get(url).text
        assert "<script>alert(1)</script>" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "{{ 7*7 }}" in page
    report = logged_in(Client(), world.facilitator).get(reverse("value:report", args=[world.public.slug])).text
    assert "<script>alert(1)</script>" not in report and "&lt;script&gt;" in report


def test_extra_fields_cannot_choose_the_author_community_or_item(client, world, handbook, conversation):
    logged_in(client, world.member)
    client.post(
        add_url("resource", handbook.pk),
        {
            "cycle": "immediate",
            "text": "Helped me today.",
            "author": world.owner.pk,
            "community": world.private.pk,
            "thread": conversation.private_thread.pk,
            "resource": 999999,
        },
    )
    note = ValueNote.objects.get()
    assert (note.author_id, note.community_id, note.thread_id, note.resource_id) == (
        world.member.pk,
        world.public.pk,
        None,
        handbook.pk,
    )


def test_a_post_without_the_csrf_token_is_refused(world, handbook):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.member)
    response = client.post(add_url("resource", handbook.pk), REALISED)
    assert response.status_code == 403
    assert not ValueNote.objects.exists()


def test_adding_notes_faster_than_the_limit_is_refused_with_the_text_kept(client, world, handbook, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "value": ("1/60", None)}
    logged_in(client, world.member)
    assert client.post(add_url("resource", handbook.pk), REALISED).status_code == 302
    response = client.post(add_url("resource", handbook.pk), {**REALISED, "text": "A second story."})
    assert response.status_code == 429
    assert "faster than this site allows" in response.text and "A second story." in response.text
    assert ValueNote.objects.count() == 1


# --- Who may add one ----------------------------------------------------------------------------


def test_a_visitor_is_sent_to_log_in(client, handbook):
    response = client.get(add_url("resource", handbook.pk))
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize("role", ["outsider", "pending", "banned", "other_facilitator"])
def test_people_who_are_not_active_members_cannot_add_a_note_in_a_public_community(client, world, handbook, role):
    logged_in(client, getattr(world, role))
    assert client.get(add_url("resource", handbook.pk)).status_code == 403
    response = client.post(add_url("resource", handbook.pk), REALISED)
    assert response.status_code == 403
    assert not ValueNote.objects.exists()


@pytest.mark.parametrize("role", ["outsider", "pending", "banned", "other_facilitator"])
def test_a_private_item_is_not_found_for_those_outside(client, world, private_card, conversation, role):
    logged_in(client, getattr(world, role))
    for kind, pk in (
        ("resource", private_card.pk),
        ("thread", conversation.private_thread.pk),
        ("post", conversation.private_thread.opening_post.pk),
    ):
        response = client.post(add_url(kind, pk), REALISED)
        assert response.status_code == 404
        assert "Zebra Quince" not in response.text and "Quokka" not in response.text
    assert not ValueNote.objects.exists()


def test_a_hidden_post_takes_no_note_from_a_member_who_cannot_read_it(client, world, conversation):
    discussions.hide_post(world.facilitator, conversation.answer, "Off topic")
    response = logged_in(client, world.member).post(add_url("post", conversation.answer.pk), REALISED)
    assert response.status_code == 404
    assert client.post(add_url("nonsense", 1), REALISED).status_code == 404


# --- On the thread page -------------------------------------------------------------------------


def test_notes_show_on_their_post_and_the_threads_on_the_opening_post(client, world, conversation):
    thread_item = Item(world.public, thread=conversation.thread)
    post_item = Item(world.public, thread=conversation.thread, post=conversation.answer)
    services.add_note(world.owner, thread_item, cycle="potential", text="We will bring this to our meeting.")
    services.add_note(world.facilitator, post_item, cycle="applied", text="We score hourly now.")
    page = logged_in(client, world.member).get(conversation.thread.get_absolute_url()).text
    opening = page.split(f'data-post-id="{conversation.opening.pk}"')[1].split("data-post-id=")[0]
    answer = page.split(f'data-post-id="{conversation.answer.pk}"')[1].split("data-post-id=")[0]
    assert "Value (1)" in opening and "We will bring this to our meeting." in opening and "Potential value" in opening
    assert "We score hourly now." in answer and "Applied value" in answer
    assert "We score hourly now." not in opening
    assert add_url("thread", conversation.thread.pk) in opening and add_url("post", conversation.answer.pk) in answer


def test_a_note_on_a_hidden_post_is_shown_only_to_who_can_read_the_post(client, world, conversation):
    item = Item(world.public, thread=conversation.thread, post=conversation.answer)
    services.add_note(world.member, item, cycle="applied", text="Zanzibar ladder note.")
    discussions.hide_post(world.owner, conversation.answer, "Check the dose")
    url = conversation.thread.get_absolute_url()
    assert "Zanzibar ladder note." not in logged_in(client, world.member).get(url).text
    assert "Zanzibar ladder note." not in Client().get(url).text
    assert "Zanzibar ladder note." in logged_in(Client(), world.facilitator).get(url).text


def test_the_thread_page_costs_the_same_queries_with_no_notes_or_many(
    client, world, conversation, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    logged_in(client, world.member)
    url = conversation.thread.get_absolute_url()
    client.get(url)
    with CaptureQueriesContext(connection) as before:
        client.get(url)
    for post in (conversation.opening, conversation.answer, conversation.nested):
        for cycle in ("immediate", "applied"):
            item = Item(world.public, thread=conversation.thread, post=post)
            services.add_note(world.owner, item, cycle=cycle, text="Useful.")
    with django_assert_max_num_queries(len(before)):
        page = client.get(url)
    assert page.text.count("Value (2)") == 3


# --- Ledger and profile -------------------------------------------------------------------------


def test_a_note_counts_in_the_participation_ledger(world, handbook):
    item = Item(world.public, resource=handbook)
    for _ in range(2):
        services.add_note(world.member, item, cycle="immediate", text="Helped today.")
    assert Activity.objects.filter(user=world.member, community=world.public, kind="value").count() == 2
    participation.compute_levels(world.public)
    assert world.public.memberships.get(user=world.member).level == "active"


def test_the_profile_lists_notes_on_what_the_viewer_may_see_only(client, world, handbook, private_card):
    services.add_note(world.member, Item(world.public, resource=handbook), cycle="applied", text="Public.")
    services.add_note(world.member, Item(world.private, resource=private_card), cycle="applied", text="P")
    profile = reverse("accounts:profile", args=[world.member.username])
    seen = logged_in(client, world.outsider).get(profile).text
    assert "Night handover card" in seen and "Quokka tapering card" not in seen
    assert "Quokka tapering card" in logged_in(Client(), world.facilitator).get(profile).text


# --- The value report ---------------------------------------------------------------------------


def note_at(author, item, cycle, when, **extra):
    note = services.add_note(author, item, cycle=cycle, text=extra.pop("text", "Story."), **extra)
    ValueNote.objects.filter(pk=note.pk).update(created_at=when)
    return note


def test_the_report_is_for_facilitators(client, world):
    url = reverse("value:report", args=[world.public.slug])
    for role, status in (("facilitator", 200), ("owner", 200), ("admin", 200), ("member", 403), ("outsider", 403)):
        assert logged_in(Client(), getattr(world, role)).get(url).status_code == status, role
    private = reverse("value:report", args=[world.private.slug])
    for name in ("value:report", "value:report-csv", "value:report-print"):
        response = logged_in(Client(), world.outsider).get(reverse(name, args=[world.private.slug]))
        assert response.status_code == 404 and "Zebra Quince" not in response.text
    assert logged_in(Client(), world.member).get(private).status_code == 403
    assert logged_in(Client(), world.other_facilitator).get(private).status_code == 404


def test_a_year_of_notes_is_counted_per_cycle_per_month_within_ten_queries(
    client, world, handbook, conversation, make_user, django_assert_max_num_queries
):
    now = timezone.now()
    resource = Item(world.public, resource=handbook)
    thread = Item(world.public, thread=conversation.thread)
    people = [make_user(f"v{i}", display_name=f"Valued {i}") for i in range(6)]
    for person in people:
        factories.membership(person, world.public)
    cycles = ["immediate", "potential", "applied", "realised", "reframing"]
    for month in range(12):
        for i, person in enumerate(people):
            cycle = cycles[(month + i) % 5]
            extra = {"measure": "Fewer falls"} if cycle == "realised" else {}
            note_at(person, resource if i % 2 else thread, cycle, now - timedelta(days=30 * month + 1), **extra)
    # One from before the year: not counted.
    note_at(world.member, resource, "applied", now - timedelta(days=400))
    logged_in(client, world.facilitator)
    with django_assert_max_num_queries(10):
        page = client.get(reverse("value:report", args=[world.public.slug]))
    assert page.status_code == 200
    text = page.text
    assert "<svg" in text and '<title id="value-chart-title">' in text and '<desc id="value-chart-desc">' in text
    total = ValueNote.objects.filter(created_at__gte=now - timedelta(days=365 - 30)).count()
    assert f"{total} value notes in the last 12 months" in text or "value notes in the last 12 months" in text
    assert "Night handover card" in text and "How do you assess pain in delirium?" in text
    assert "Valued 0" in text
    with django_assert_max_num_queries(10):
        assert client.get(reverse("value:report-csv", args=[world.public.slug])).status_code == 200
    with django_assert_max_num_queries(10):
        assert client.get(reverse("value:report-print", args=[world.public.slug])).status_code == 200


def test_the_report_csv_counts_and_defuses_formulas(client, world, make_user, handbook):
    sneaky = make_user("sneaky", display_name='=HYPERLINK("http://evil.example")')
    factories.membership(sneaky, world.public)
    services.add_note(
        sneaky,
        Item(world.public, resource=handbook),
        cycle="realised",
        text="+cmd|' /C calc'!A0",
        measure="@SUM(1+1)",
    )
    response = logged_in(client, world.facilitator).get(reverse("value:report-csv", args=[world.public.slug]))
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    cells = [cell for row in rows for cell in row]
    assert '\'=HYPERLINK("http://evil.example")' in cells
    assert "'+cmd|' /C calc'!A0" in cells and "'@SUM(1+1)" in cells
    assert not any(cell.startswith(("=", "+", "@")) for cell in cells)
    month = timezone.now().strftime("%Y-%m")
    assert [month, "0", "0", "0", "1", "0", "1"] in rows


def test_the_printable_report_has_no_navigation_and_a_print_stylesheet(client, world, handbook, settings):
    services.add_note(world.member, Item(world.public, resource=handbook), cycle="applied", text="Used.")
    page = logged_in(client, world.facilitator).get(reverse("value:report-print", args=[world.public.slug])).text
    assert "<nav" not in page and "site-header" not in page
    assert "Ward Commons: value report" in page and "Night handover card" in page
    assert re.search(r'<link rel="stylesheet" href="[^"]*site[^"]*\.css"', page)
    css = (settings.BASE_DIR / "static" / "css" / "site.css").read_text()
    print_rules = css.split("/* Value notes and the value report")[1].split("@media print")[1]
    assert ".value-report-actions" in print_rules and "display: none" in print_rules


# --- The digest ---------------------------------------------------------------------------------


def test_the_digest_celebrates_realised_value_its_authors_let_it_share(world, handbook, conversation):
    from tests.test_digest_content import digest_of, only, send, subscribe

    subscribe(world.outsider, world.public)
    only(world.outsider, world.public)
    item = Item(world.public, resource=handbook)
    services.add_note(
        world.member, item, cycle="realised", text="Shared story.", measure="Falls 6 to 2", share_in_digest=True
    )
    services.add_note(world.owner, item, cycle="realised", text="Kept to us.", measure="Private win")
    services.add_note(world.facilitator, item, cycle="applied", text="Applied only.", share_in_digest=True)
    send()
    mail = digest_of(world.outsider)
    celebrate = mail.body_text.split("\nCelebrate\n")[1]
    assert 'Value realised by Mira Member, from "Night handover card": Falls 6 to 2' in celebrate
    assert "Shared story." in celebrate
    assert "Kept to us." not in mail.body_text and "Applied only." not in mail.body_text
    assert "Value realised by <strong" in mail.body_html and "Falls 6 to 2" in mail.body_html


def test_a_note_on_a_hidden_post_never_reaches_the_digest(world, conversation):
    from tests.test_digest_content import digest_of, only, send, subscribe

    subscribe(world.outsider, world.public)
    only(world.outsider, world.public)
    item = Item(world.public, thread=conversation.thread, post=conversation.answer)
    services.add_note(world.member, item, cycle="realised", text="Hushed.", measure="Quiet gain", share_in_digest=True)
    discussions.hide_post(world.owner, conversation.answer, "Check the dose")
    send()
    assert "Quiet gain" not in digest_of(world.outsider).body_text


def test_building_with_value_notes_costs_the_same_queries_for_2_or_12_readers(world, make_user, conversation, handbook):
    from communities.models import Membership
    from tests.test_digest_content import build_queries

    Membership.objects.exclude(user__username__startswith="r").update(digest_cadence="off")
    for author in (world.member, world.owner):
        services.add_note(
            author,
            Item(world.public, resource=handbook),
            cycle="realised",
            text="Worth it.",
            measure="Less waiting",
            share_in_digest=True,
        )
    few, few_sent = build_queries(world, make_user, 2, "ra")
    Membership.objects.filter(user__username__startswith="ra").update(digest_cadence="off")
    many, many_sent = build_queries(world, make_user, 12, "rb")
    assert (few_sent, many_sent) == (2, 12)
    assert many == few, (few, many)


# --- Demo data ----------------------------------------------------------------------------------


def test_the_demo_shows_value_notes_on_a_resource_and_counts_them_in_the_report(client):
    from communities import participation
    from communities.models import Community, Membership
    from tests.test_seed_demo import seed

    seed()
    assert ValueNote.objects.filter(cycle="realised").exists() and ValueNote.objects.count() == 5
    seed()
    assert ValueNote.objects.count() == 5  # idempotent
    note = ValueNote.objects.filter(resource__isnull=False).select_related("resource__community").first()
    page = client.get(note.resource.get_absolute_url()).text
    assert "Realised value" in page and "Applied value" in page
    acute = Community.objects.get(slug="acute-pain")

    # A note moves no demo member to another level (the demo shows every level).
    def levels() -> dict[int, str]:
        participation.compute_levels(acute)
        return dict(Membership.objects.filter(community=acute, state="active").values_list("user_id", "level"))

    with_notes = levels()
    Activity.objects.filter(kind="value").delete()
    assert levels() == with_notes


def test_making_a_private_community_public_lists_its_value_notes_and_names_their_authors(world, private_card):
    from communities import exposure

    services.add_note(world.member, Item(world.private, resource=private_card), cycle="applied", text="Xeric note.")
    seen = exposure.of(world.private)
    [notes] = [item for item in seen.listings if item.label == "Value notes"]
    assert notes.count == 1 and notes.names == ["Xeric note."]
    assert "Mira Member" in seen.people.names
