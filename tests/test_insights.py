"""The community health page and site overview: the numbers, who may read them, CSV, ranges, cost."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from communities import participation
from communities.models import Activity, Community, LevelSnapshot, Membership
from discussions.models import Post, Thread
from events.models import RSVP, Event
from insights.models import LevelChange
from insights.queries import percentile
from resources.models import Resource
from tests import factories

pytestmark = pytest.mark.django_db

HEALTH = "/c/{slug}/facilitate/health/"
DELAYS_HOURS = [1, 2, 3, 10, 20]  # the five newcomers' waits: median 3 h, p90 10 + 0.6 × 10 = 16 h


def backdate_thread(thread: Thread, at) -> None:
    Thread.objects.filter(pk=thread.pk).update(created_at=at)
    Post.objects.filter(thread=thread, number=1).update(created_at=at)


def make_dataset(world, make_user, *, prefix: str = "n", base=None) -> SimpleNamespace:
    """Six newcomers in ``world.public`` (five answered after known delays, one question unanswered),
    a member whose first thread is older than the range, core and peripheral repliers,
    four resources (one past its review-by date), three weekly snapshots, level moves and one event."""
    now = timezone.now()
    base = base or now - timedelta(days=40)
    c = world.public
    Membership.objects.filter(community=c, user=world.facilitator).update(level=Membership.Level.CORE)
    d = SimpleNamespace(newcomers=[], base=base)
    for i, delay in enumerate(DELAYS_HOURS):
        person = make_user(f"{prefix}{i}", display_name=f"Newcomer {prefix}{i}")
        factories.membership(person, c, level=Membership.Level.ACTIVE)
        started = base + timedelta(days=i)
        t = factories.thread(person, c, title=f"First question {prefix}{i}", kind=Thread.Kind.QUESTION)
        backdate_thread(t, started)
        # The newcomer's own follow-up comes first and does not count as a reply.
        own = factories.replies(t, 1, by=person)[0]
        Post.objects.filter(pk=own.pk).update(created_at=started + timedelta(minutes=30))
        answer = factories.replies(t, 1, by=world.facilitator)[0]
        Post.objects.filter(pk=answer.pk).update(created_at=started + timedelta(hours=delay))
        d.newcomers.append(person)
    waiting = make_user(f"{prefix}w", display_name=f"Waiting {prefix}")
    factories.membership(waiting, c, level=Membership.Level.ACTIVE)
    d.unanswered = factories.thread(waiting, c, title=f"Nobody answered {prefix}", kind=Thread.Kind.QUESTION)
    backdate_thread(d.unanswered, base + timedelta(days=6))
    # Mira started a thread two years ago: her thread in the range is not a newcomer's.
    old = factories.thread(world.member, c, title=f"Long ago {prefix}")
    backdate_thread(old, now - timedelta(days=800))
    recent = factories.thread(world.member, c, title=f"Back again {prefix}")
    backdate_thread(recent, base + timedelta(days=7))
    # One reply from outside the core (Mira, peripheral) beside the facilitator's five.
    factories.replies(d.newcomers[0] and Thread.objects.get(title=f"First question {prefix}0"), 1, by=world.member)
    return d


@pytest.fixture
def data(world, make_user):
    d = make_dataset(world, make_user)
    c = world.public
    today = timezone.now().date()
    for title, review_by in (("Stale", today - timedelta(days=10)), ("Fresh", today + timedelta(days=30))):
        r = factories.resource(world.facilitator, c, title=title, url="https://example.org/x")
        Resource.objects.filter(pk=r.pk).update(review_by=review_by)
    factories.resource(world.facilitator, c, title="Undated one", url="https://example.org/y")
    factories.resource(world.facilitator, c, title="Undated two", url="https://example.org/z")
    monday = participation.week_of(today)
    for weeks_ago, counts in ((2, (1, 3, 2, 0)), (1, (1, 5, 2, 0)), (0, (1, 6, 2, 0))):
        LevelSnapshot.objects.create(
            community=c,
            week=monday - timedelta(weeks=weeks_ago),
            **dict(zip(participation.LEVELS, counts, strict=True)),
        )
    LevelSnapshot.objects.create(community=c, week=monday - timedelta(weeks=80), core=9)
    now = timezone.now()
    LevelChange.objects.create(
        community=c, user=d.newcomers[0], old_level="peripheral", new_level="active", changed_at=now
    )
    LevelChange.objects.create(
        community=c, user=d.newcomers[1], old_level="core", new_level="peripheral", changed_at=now
    )
    LevelChange.objects.create(
        community=c, user=d.newcomers[2], old_level="inactive", new_level="peripheral", changed_at=now
    )
    LevelChange.objects.create(
        community=c, user=d.newcomers[3], old_level="active", new_level="core", changed_at=now - timedelta(days=70)
    )
    event = factories.event(world.facilitator, c, title="Case chat")
    Event.objects.filter(pk=event.pk).update(starts_at=d.base, ends_at=d.base + timedelta(hours=1))
    for person in d.newcomers[:2]:
        RSVP.objects.create(event=event, user=person, answer=RSVP.Answer.GOING)
    RSVP.objects.create(event=event, user=d.newcomers[2], answer=RSVP.Answer.NOT_GOING)
    d.event = event
    return d


def figure(html: str, name: str) -> str:
    match = re.search(rf'data-figure="{name}">(.*?)</td>', html, re.S)
    assert match, name
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def test_percentile_interpolates_between_ranks():
    assert percentile([20, 1, 3, 10, 2], 0.5) == 3
    assert percentile([1, 2, 3, 10, 20], 0.9) == pytest.approx(16)
    assert percentile([], 0.5) is None
    assert percentile([7], 0.9) == 7


def test_facilitator_reads_the_numbers_of_a_hand_made_community(client, world, data):
    client.force_login(world.facilitator)
    response = client.get(HEALTH.format(slug="commons"))
    assert response.status_code == 200
    html = response.content.decode()
    assert figure(html, "median") == "3.0 h"
    assert figure(html, "p90") == "16.0 h"
    assert figure(html, "newcomers") == "6, 1 still waiting"
    # Six replies by others in the range: the facilitator's five (core) and Mira's one.
    assert figure(html, "outside-core") == "17% (1 of 6)"
    # Peripheral now: Mira (replied this quarter) and Olive (did nothing).
    assert figure(html, "peripheral") == "1 of 2"
    assert figure(html, "unanswered") == "1"
    assert figure(html, "overdue") == "25% (1 of 4; 2 with a review-by date)"
    assert figure(html, "events") == "1"
    assert "Nobody answered n" in html
    # Moves this month touching core or active: one up, one down; the move from inactive and last month's are left out.
    assert "1 moved up, 1 moved down" in html
    assert "Newcomer n0" in html and "Newcomer n1" in html
    # The chart and its tables: three weeks in range (not the one 80 weeks ago), events per month.
    assert html.count("<polygon points=") == 4
    assert 'role="img"' in html and "<caption" in html and 'scope="col"' in html
    assert "Members per participation level, by week" in html
    levels_table = html.split('id="levels-table-caption"')[1].split("</table>")[0]
    assert levels_table.count("<tr>") == 1 + 3
    assert "<td>9</td>" in html  # the latest week's total: 1 + 6 + 2 + 0
    events_table = html.split('id="events-table-caption"')[1].split("</table>")[0]
    assert "<td>1</td><td>2</td><td>0</td>" in events_table  # one event, two going, no chat
    assert 'viewBox="0 0 640 240"' in html


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_owner_and_site_admin_read_the_page(client, world, data, who):
    client.force_login(getattr(world, who))
    assert client.get(HEALTH.format(slug="commons")).status_code == 200


@pytest.mark.parametrize("who", ["member", "outsider", "other_facilitator", "pending", "banned"])
@pytest.mark.parametrize("slug", ["commons", "circle", "studio"])
def test_everyone_else_gets_404(client, restricted, who, slug):
    client.force_login(getattr(restricted, who))
    for url in (HEALTH, "/c/{slug}/facilitate/health.csv", "/c/{slug}/facilitate/rhythm/"):
        response = client.get(url.format(slug=slug))
        assert response.status_code == 404, (who, url)
        assert b"Night-shift" not in response.content or slug != "studio"


def test_signed_out_visitor_is_sent_to_log_in_and_private_stays_404(client, world):
    response = client.get(HEALTH.format(slug="commons"))
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert client.get(HEALTH.format(slug="circle")).status_code == 404


def test_facilitator_of_a_restricted_community_reads_its_page(client, restricted):
    client.force_login(restricted.facilitator)
    assert client.get(HEALTH.format(slug="studio")).status_code == 200


def test_dashboard_links_to_the_health_page(client, world):
    client.force_login(world.facilitator)
    html = client.get("/c/commons/facilitate/").content.decode()
    assert 'href="/c/commons/facilitate/health/"' in html
    assert "No missed beats." in html


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_csv_holds_every_table_and_figure(client, world, data):
    client.force_login(world.facilitator)
    response = client.get("/c/commons/facilitate/health.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    today = timezone.now().date()
    assert (
        f"health-commons-{today.replace(year=today.year - 1) + timedelta(days=1)}-{today}.csv"
        in response["Content-Disposition"]
    )
    rows = read_csv(response)
    figures = {row[0]: row[1] for row in rows if len(row) == 2}
    assert figures["Median hours to first reply"] == "3.00"
    assert figures["90th percentile hours to first reply"] == "16.00"
    assert figures["Replies"] == "6" and figures["Replies from outside the core"] == "1"
    assert figures["Unanswered questions"] == "1"
    assert figures["Resources past their review-by date"] == "1"
    weeks = rows[rows.index(["Week", "Core", "Active", "Peripheral", "Inactive", "Total"]) + 1 :][:3]
    assert [w[1:] for w in weeks] == [["1", "3", "2", "0", "6"], ["1", "5", "2", "0", "8"], ["1", "6", "2", "0", "9"]]
    assert any(row[:3] == ["Newcomer n0", "peripheral", "active"] for row in rows)
    assert any(row[:1] == ["Case chat"] and row[3] == "2" for row in rows)
    # ?format=csv on the page gives the same file.
    same = client.get(HEALTH.format(slug="commons") + "?format=csv")
    assert read_csv(same) == rows


def test_csv_neutralises_formulas_in_titles(client, world):
    person = factories.membership(world.outsider, world.public).user
    t = factories.thread(person, world.public, title="=HYPERLINK(1)")
    backdate_thread(t, timezone.now() - timedelta(days=2))
    client.force_login(world.facilitator)
    rows = read_csv(client.get("/c/commons/facilitate/health.csv"))
    assert any(row[:1] == ["'=HYPERLINK(1)"] for row in rows)


def test_a_narrower_range_leaves_out_what_is_outside_it(client, world, data):
    client.force_login(world.facilitator)
    start = (data.base + timedelta(days=2)).date()
    end = (data.base + timedelta(days=3)).date()
    html = client.get(
        HEALTH.format(slug="commons"), {"start": start.isoformat(), "end": end.isoformat()}
    ).content.decode()
    # Two newcomers started in those two days (waits of 3 and 10 hours).
    assert figure(html, "newcomers") == "2"
    assert figure(html, "median") == "6.5 h"
    assert f'value="{start.isoformat()}"' in html
    rows = read_csv(client.get("/c/commons/facilitate/health.csv", {"start": start, "end": end}))
    assert dict(r for r in rows if len(r) == 2)["Newcomers"] == "2"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": "31/01/2026"}, "Enter a date as YYYY-MM-DD"),
        ({"start": "2026-02-30"}, "Enter a date as YYYY-MM-DD"),
        ({"start": "<script>alert(1)</script>"}, "Enter a date as YYYY-MM-DD"),
        ({"start": "2026-03-01", "end": "2026-02-01"}, "The start must be on or before the end."),
        ({"start": "2020-01-01", "end": "2024-01-01"}, "three years or less"),
        ({"end": "2999-01-01"}, "after today."),
    ],
)
def test_bad_dates_get_a_clear_error_and_keep_what_was_typed(client, world, params, message):
    client.force_login(world.facilitator)
    response = client.get(HEALTH.format(slug="commons"), params)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert "Showing the last twelve months instead." in html
    for value in params.values():
        assert 'value="{}"'.format(value.replace("<", "&lt;").replace(">", "&gt;")) in html
    assert "<script>alert(1)</script>" not in html
    assert client.get("/c/commons/facilitate/health.csv", params).status_code == 400


def test_health_page_costs_the_same_few_queries_however_big_the_community(
    client, world, make_user, data, django_assert_max_num_queries
):
    client.force_login(world.facilitator)
    url = HEALTH.format(slug="commons")
    client.get(url)
    with django_assert_max_num_queries(12) as small:
        assert client.get(url).status_code == 200
    # Three times the newcomers, more members of every level and more ledger rows.
    make_dataset(world, make_user, prefix="m")
    make_dataset(world, make_user, prefix="k", base=timezone.now() - timedelta(days=200))
    people = [make_user(f"bulk{i}") for i in range(30)]
    Membership.objects.bulk_create(
        Membership(user=p, community=world.public, level=participation.LEVELS[i % 4]) for i, p in enumerate(people)
    )
    Activity.objects.bulk_create(
        Activity(community=world.public, user=p, kind=Activity.Kind.REPLY, day=date.today()) for p in people
    )
    with django_assert_max_num_queries(len(small)) as large:
        response = client.get(url)
    assert response.status_code == 200
    assert len(large) == len(small)
    assert figure(response.content.decode(), "newcomers") == "18, 3 still waiting"


def test_csv_costs_no_more_than_the_page(client, world, data, django_assert_max_num_queries):
    client.force_login(world.facilitator)
    with django_assert_max_num_queries(12):
        assert client.get("/c/commons/facilitate/health.csv").status_code == 200


# --- Level moves are recorded by the recompute ---------------------------------------------------


def test_recompute_records_who_moved_and_a_first_computation_is_no_move(world, settings):
    c = world.public
    participation.compute_levels(c)
    assert not LevelChange.objects.exists()
    for _ in range(2):
        Activity.objects.create(community=c, user=world.member, kind=Activity.Kind.REPLY, day=date.today())
    participation.compute_levels(c)
    moves = list(LevelChange.objects.values_list("user_id", "old_level", "new_level"))
    assert moves == [(world.member.pk, "inactive", "active")] or moves == [(world.member.pk, "peripheral", "active")]
    participation.compute_levels(c)  # nothing changed: nothing more written
    assert LevelChange.objects.count() == 1


def test_hourly_recompute_is_scheduled():
    from django.conf import settings

    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "communities.recompute_recent_participation" in tasks


# --- Site overview ---------------------------------------------------------------------------------


def test_site_admin_sees_every_community_sorted_and_as_csv(client, world, data, django_assert_max_num_queries):
    client.force_login(world.admin)
    response = client.get("/site-health/")
    assert response.status_code == 200
    html = response.content.decode()
    for name in ("Ward Commons", "Rehab Guild", "Zebra Quince Circle", "Elsewhere"):
        assert name in html
    rows = read_csv(client.get("/site-health/", {"sort": "members", "dir": "desc", "format": "csv"}))
    assert rows[0][:4] == ["Community", "Address", "Visibility", "Members"]
    assert rows[1][0] == "Ward Commons"
    commons = rows[1]
    header = rows[0]
    assert commons[header.index("Unanswered questions")] == "1"
    assert commons[header.index("Past review-by")] == "1"
    assert commons[header.index("Core")] == "1"
    assert int(commons[header.index("Active this month")]) >= 2
    by_name = client.get("/site-health/", {"sort": "name", "dir": "desc"}).content.decode()
    assert by_name.index("Zebra Quince Circle") < by_name.index("Elsewhere")
    assert 'aria-sort="descending"' in by_name
    # A sort key from a hostile link falls back to the name.
    assert client.get("/site-health/", {"sort": "password; DROP TABLE"}).status_code == 200


def test_site_overview_costs_a_bounded_number_of_queries_for_200_communities(
    client, world, django_assert_max_num_queries
):
    Community.objects.bulk_create(
        Community(name=f"Bulk {i:03}", slug=f"bulk-{i:03}", domain="Bulk.") for i in range(196)
    )
    client.force_login(world.admin)
    with django_assert_max_num_queries(6):
        response = client.get("/site-health/")
    assert response.content.decode().count('<th scope="row">') == 200


@pytest.mark.parametrize("who", ["facilitator", "owner", "member", "outsider"])
def test_site_overview_is_404_for_everyone_but_site_admins(client, world, who):
    client.force_login(getattr(world, who))
    assert client.get("/site-health/").status_code == 404
    assert client.get("/site-health/?format=csv").status_code == 404


def test_site_admins_find_the_overview_and_the_request_queue_in_their_menu(client, world):
    client.force_login(world.admin)
    page = client.get("/").content.decode()
    assert 'href="/site-health/"' in page and 'href="/c/requests/"' in page
    for who in (world.owner, world.member):
        client.force_login(who)
        page = client.get("/").content.decode()
        assert "/site-health/" not in page and "/c/requests/" not in page
