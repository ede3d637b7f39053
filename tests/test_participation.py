"""Participation levels come from the community's own ledger: visits, contributions, reactions."""

from __future__ import annotations

import datetime
import re
import xml.etree.ElementTree as ET

import pytest
from django.db import DatabaseError, connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from communities import ledger, participation
from communities.models import Activity, Community, LevelSnapshot, Membership
from communities.participation import (
    Thresholds,
    chart_geometry,
    classify,
    compute_levels,
    level_rules_text,
    recompute_all,
    weekly_series,
)
from tests.worker import wait_until

UTC = datetime.UTC
NOW = datetime.datetime(2025, 3, 12, 12, 0, tzinfo=UTC)  # a Wednesday
TODAY = NOW.date()
MONDAY = datetime.date(2025, 3, 10)
DEFAULTS = Thresholds()  # the documented defaults, whatever settings.py says
Kind = Activity.Kind
Level = Membership.Level


# --- helpers ------------------------------------------------------------------


@pytest.fixture
def community(db) -> Community:
    return Community.objects.create(name="Ward nurses", slug="ward-nurses", domain="Safer night shifts.")


def join(user, community: Community, **extra) -> Membership:
    return Membership.objects.create(user=user, community=community, **extra)


def log(user, community: Community, kind: str, count: int = 1, *, day: datetime.date = TODAY) -> None:
    """``count`` ledger rows; visits fall on ``count`` distinct days ending on ``day``."""
    rows = [
        Activity(
            community=community,
            user=user,
            kind=kind,
            day=day - datetime.timedelta(days=i) if kind == Kind.VISIT else day,
        )
        for i in range(count)
    ]
    Activity.objects.bulk_create(rows)


def levels_of(*memberships: Membership) -> list[str]:
    return [Membership.objects.get(pk=m.pk).level for m in memberships]


# --- the rule -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("contributions", "reactions", "visit_days", "expected"),
    [
        (12, 0, 0, "core"),  # at the core threshold
        (11, 0, 0, "active"),  # just below it
        (11, 99, 99, "active"),  # reactions and visits never make anyone core
        (2, 0, 0, "active"),  # at the active contributions threshold
        (1, 0, 0, "peripheral"),  # just below it: any contribution is still peripheral
        (0, 10, 0, "active"),  # at the active reactions threshold
        (0, 9, 0, "peripheral"),  # just below it: any reaction is still peripheral
        (0, 1, 0, "peripheral"),
        (0, 0, 1, "peripheral"),  # at the peripheral visit-day threshold
        (0, 0, 0, "inactive"),  # just below it
    ],
)
def test_classify_at_each_threshold_edge(contributions, reactions, visit_days, expected):
    assert classify(contributions, reactions, visit_days, rules=DEFAULTS) == expected


def test_classify_reads_thresholds_from_settings(settings):
    settings.PARTICIPATION_CORE_CONTRIBUTIONS = 3
    settings.PARTICIPATION_PERIPHERAL_VISIT_DAYS = 2
    assert classify(3, 0, 0) == "core"
    assert classify(0, 0, 1) == "inactive"
    assert classify(0, 0, 2) == "peripheral"


def test_level_rules_text_states_the_numbers_in_force(settings):
    settings.PARTICIPATION_ACTIVE_REACTIONS = 7
    text = level_rules_text()
    assert "last 90 days" in text
    assert "Core: 12 contributions or more" in text
    assert "7 reactions given" in text
    assert "visited on 1 day or more" in text


def test_an_activity_90_days_ago_counts_and_91_days_ago_does_not(community, make_user):
    # The window is today (UTC) and the 90 days before it: day >= today - 90.
    edge, outside = make_user("edge"), make_user("outside")
    m_edge, m_outside = join(edge, community), join(outside, community)
    log(edge, community, Kind.VISIT, day=TODAY - datetime.timedelta(days=90))
    log(outside, community, Kind.VISIT, day=TODAY - datetime.timedelta(days=91))
    log(outside, community, Kind.REPLY, 20, day=TODAY - datetime.timedelta(days=91))
    compute_levels(community, now=NOW)
    assert levels_of(m_edge, m_outside) == ["peripheral", "inactive"]


# --- compute_levels ---------------------------------------------------------------


def test_each_member_gets_the_level_their_history_earns(community, make_user):
    cora, adam, rhea, pia, ines = (make_user(n) for n in ("cora", "adam", "rhea", "pia", "ines"))
    people = [join(u, community) for u in (cora, adam, rhea, pia, ines)]
    log(cora, community, Kind.THREAD, 4)
    log(cora, community, Kind.REPLY, 6)
    log(cora, community, Kind.RESOURCE, 2)
    log(adam, community, Kind.REPLY, 2)
    log(rhea, community, Kind.REACTION, 10)
    log(pia, community, Kind.VISIT, 3)
    # Someone else's activity elsewhere does not leak in.
    other = Community.objects.create(name="Other", slug="other", domain="x")
    log(ines, other, Kind.REPLY, 30)

    counts = compute_levels(community, now=NOW)

    assert levels_of(*people) == ["core", "active", "active", "peripheral", "inactive"]
    assert counts == {"core": 1, "active": 2, "peripheral": 1, "inactive": 1}
    assert all(Membership.objects.get(pk=m.pk).level_computed_at == NOW for m in people)


def test_a_pinned_member_keeps_their_level_and_is_counted_at_it(community, make_user):
    pat = make_user("pat")
    pinned = join(pat, community, level=Level.CORE, level_pinned=True)
    log(pat, community, Kind.VISIT)  # the ledger alone would say peripheral
    counts = compute_levels(community, now=NOW)
    pinned.refresh_from_db()
    assert (pinned.level, pinned.level_computed_at) == ("core", None)
    assert counts["core"] == 1 and counts["peripheral"] == 0


def test_members_who_left_were_banned_or_wait_are_not_counted(community, make_user):
    leo, bea, pen, mia = (make_user(n) for n in ("leo", "bea", "pen", "mia"))
    left = join(leo, community, state=Membership.State.LEFT)
    banned = join(bea, community, state=Membership.State.BANNED)
    pending = join(pen, community, state=Membership.State.PENDING)
    join(mia, community)
    for user in (leo, bea, pen):
        log(user, community, Kind.REPLY, 20)
    counts = compute_levels(community, now=NOW)
    assert counts == {"core": 0, "active": 0, "peripheral": 0, "inactive": 1}
    assert levels_of(left, banned, pending) == ["peripheral"] * 3  # untouched defaults
    assert not Membership.objects.filter(pk__in=[left.pk, banned.pk, pending.pk], level_computed_at__isnull=False)


# Ledger aggregate, active members, one UPDATE per level (4), the snapshot
# upsert (SELECT ... FOR UPDATE + INSERT) and three savepoint pairs (ours and
# update_or_create's two): 14, whatever the community's size.
MAX_QUERIES = 14


@pytest.mark.parametrize("size", [5, 50])
def test_compute_levels_costs_the_same_queries_for_5_or_50_members(
    community, make_user, size, django_assert_max_num_queries
):
    recipes = [(Kind.REPLY, 12), (Kind.THREAD, 2), (Kind.VISIT, 1), (None, 0)]
    for i in range(size):
        user = make_user(f"u{size}-{i}")
        join(user, community, level=Level.INACTIVE if i % 4 != 3 else Level.CORE)  # every level changes
        kind, count = recipes[i % 4]
        if kind:
            log(user, community, kind, count)
    with django_assert_max_num_queries(MAX_QUERIES):
        counts = compute_levels(community, now=NOW)
    assert sum(counts.values()) == size
    assert Membership.objects.filter(community=community, level_computed_at=NOW).count() == size


def test_a_second_run_rewrites_no_membership(community, make_user):
    for name in ("a", "b", "c"):
        join(make_user(name), community)
    compute_levels(community, now=NOW)
    with CaptureQueriesContext(connection) as queries:
        compute_levels(community, now=NOW + datetime.timedelta(hours=1))
    assert not [q for q in queries if re.match(r'UPDATE "communities_membership"', q["sql"])]


def test_large_communities_update_in_chunks(community, make_user, monkeypatch):
    monkeypatch.setattr(participation, "UPDATE_CHUNK", 2)
    people = [join(make_user(f"c{i}"), community) for i in range(5)]
    for m in people:
        log(m.user, community, Kind.REPLY, 2)
    compute_levels(community, now=NOW)
    assert levels_of(*people) == ["active"] * 5


def test_one_snapshot_per_week_updated_by_reruns(community, make_user):
    ana = make_user("ana")
    join(ana, community)
    compute_levels(community, now=NOW)
    log(ana, community, Kind.REPLY, 2, day=TODAY + datetime.timedelta(days=1))
    compute_levels(community, now=NOW + datetime.timedelta(days=1))  # Thursday, same ISO week

    [snapshot] = LevelSnapshot.objects.filter(community=community)
    assert snapshot.week == MONDAY
    assert (snapshot.active, snapshot.inactive) == (1, 0)
    assert snapshot.computed_at == NOW + datetime.timedelta(days=1)

    compute_levels(community, now=NOW + datetime.timedelta(days=5))  # next Monday
    assert list(LevelSnapshot.objects.filter(community=community).values_list("week", flat=True)) == [
        MONDAY,
        MONDAY + datetime.timedelta(weeks=1),
    ]


def test_recompute_all_computes_every_community(community, make_user):
    other = Community.objects.create(name="Bridge engineers", slug="bridges", domain="Bridges that last.")
    join(make_user("zoe"), other)
    assert recompute_all(now=NOW) == 2
    assert LevelSnapshot.objects.filter(week=MONDAY).count() == 2
    assert recompute_all(now=NOW) == 2  # and again: still one row each
    assert LevelSnapshot.objects.count() == 2


def test_one_failing_community_does_not_stop_the_others(community, monkeypatch, caplog):
    broken = Community.objects.create(name="Broken", slug="broken", domain="x")
    real = participation.compute_levels

    def flaky(c, *, now=None):
        if c.pk == broken.pk:
            raise DatabaseError("deleted mid-run")
        return real(c, now=now)

    monkeypatch.setattr(participation, "compute_levels", flaky)
    assert recompute_all(now=NOW) == 1
    assert list(LevelSnapshot.objects.values_list("community_id", flat=True)) == [community.pk]
    assert f"community {broken.pk} failed" in caplog.text


# --- weekly series and chart -------------------------------------------------------


def snapshot(community: Community, weeks_ago: int, **counts: int) -> LevelSnapshot:
    return LevelSnapshot.objects.create(
        community=community, week=MONDAY - datetime.timedelta(weeks=weeks_ago), **counts
    )


def test_weekly_series_is_twelve_mondays_oldest_first_with_gaps_flagged(community, django_assert_num_queries):
    snapshot(community, 0, core=2, active=5, peripheral=9, inactive=4)
    snapshot(community, 1, core=1, active=4, peripheral=8, inactive=3)
    snapshot(community, 3, core=1, active=3, peripheral=7, inactive=2)
    snapshot(community, 12, core=9)  # thirteen weeks ago: outside the series
    with django_assert_num_queries(1):
        series = weekly_series(community, today=TODAY)
    assert len(series) == 12
    assert [row["week"] for row in series] == [MONDAY - datetime.timedelta(weeks=11 - i) for i in range(12)]
    assert [row["missing"] for row in series[-4:]] == [False, True, False, False]
    assert series[-1] == {
        "week": MONDAY,
        "core": 2,
        "active": 5,
        "peripheral": 9,
        "inactive": 4,
        "total": 20,
        "missing": False,
    }
    assert series[0]["core"] is None and series[0]["total"] is None
    assert sum(row["missing"] for row in series) == 9


@pytest.mark.parametrize("rows", ["none", "all-missing", "all-zero", "one-week"])
def test_chart_geometry_survives_empty_and_flat_series(rows):
    week = {"week": MONDAY, "missing": False, "core": 0, "active": 0, "peripheral": 0, "inactive": 0, "total": 0}
    gap = {**week, **dict.fromkeys(("core", "active", "peripheral", "inactive", "total")), "missing": True}
    series = {"none": [], "all-missing": [gap] * 12, "all-zero": [week] * 12, "one-week": [week]}[rows]
    chart = chart_geometry(series)
    assert [t["value"] for t in chart["y_ticks"]] == [0, 1]
    assert chart["has_data"] is (rows in ("all-zero", "one-week"))
    if rows == "all-zero":
        assert all(line["polylines"] for line in chart["lines"])
        assert {m["y"] for line in chart["lines"] for m in line["markers"]} == {str(chart["plot"]["bottom"])}


def test_chart_breaks_lines_at_missing_weeks_and_scales_to_the_peak(community):
    snapshot(community, 0, core=7, peripheral=3)
    snapshot(community, 1, core=5)
    snapshot(community, 3, core=6)  # isolated week: marker only
    chart = weekly_series(community, today=TODAY).chart
    core = next(line for line in chart["lines"] if line["level"] == "core")
    assert len(core["polylines"]) == 1 and len(core["polylines"][0].split()) == 2
    assert len(core["markers"]) == 3
    assert [t["value"] for t in chart["y_ticks"]] == [0, 2, 4, 6, 8]
    assert chart["x_ticks"][-1]["label"]  # the latest week is always labelled


def test_level_chart_partial_renders_svg_and_the_same_numbers_as_a_table(community):
    snapshot(community, 0, core=3, active=14, peripheral=27, inactive=6)
    snapshot(community, 1, core=2, active=11, peripheral=25, inactive=8)
    snapshot(community, 3, core=2, active=10, peripheral=22, inactive=9)
    html = render_to_string("communities/_level_chart.html", {"series": weekly_series(community, today=TODAY)})

    assert "style=" not in html  # CSP: no inline styles
    # Well-formed XML; the input is our own template's output.
    svg = ET.fromstring(re.search(r"<svg.*?</svg>", html, re.S).group(0))  # noqa: S314
    ns = "{http://www.w3.org/2000/svg}"
    assert svg.get("role") == "img"
    labelled_by = svg.get("aria-labelledby").split()
    assert [svg.find(f"{ns}title").get("id"), svg.find(f"{ns}desc").get("id")] == labelled_by
    assert "3 core, 14 active, 27 peripheral and 6 inactive" in svg.find(f"{ns}desc").text
    for level in ("core", "active", "peripheral", "inactive"):
        assert f'class="level-{level}"' in html
    assert {line.get("stroke-dasharray") for line in svg.iter(f"{ns}polyline")} == {None, "8 4", "3 3", "12 3 2 3"}

    assert "<figcaption" in html and "<caption>" in html
    table = re.search(r"<table.*?</table>", html, re.S).group(0)
    assert table.count('scope="col"') == 6 and table.count('scope="row"') == 12
    latest = re.findall(r"<td>(\d+)</td>", table)[-5:]
    assert latest == ["3", "14", "27", "6", "50"]
    assert table.count("no data") == 9


# --- the ledger -----------------------------------------------------------------


def test_a_visit_is_written_once_a_day(community, member, monkeypatch, django_assert_num_queries):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    membership = join(member, community)
    assert ledger.record_visit(member, community, membership) is True
    assert membership.last_seen_on == TODAY
    with django_assert_num_queries(0):
        assert ledger.record_visit(member, community, membership) is False
    # A fresh instance loaded on the next request already says "seen today".
    fresh = Membership.objects.get(pk=membership.pk)
    with django_assert_num_queries(0):
        assert ledger.record_visit(member, community, fresh) is False
    assert Activity.objects.filter(kind=Kind.VISIT).count() == 1

    monkeypatch.setattr(timezone, "now", lambda: NOW + datetime.timedelta(days=1))
    assert ledger.record_visit(member, community, membership) is True
    assert list(Activity.objects.filter(kind=Kind.VISIT).order_by("day").values_list("day", flat=True)) == [
        TODAY,
        TODAY + datetime.timedelta(days=1),
    ]


def test_a_stale_instance_does_not_record_a_second_visit(community, member, monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    membership = join(member, community)
    stale = Membership.objects.get(pk=membership.pk)
    assert ledger.record_visit(member, community, membership) is True
    assert ledger.record_visit(member, community, stale) is False  # another request got there first
    assert stale.last_seen_on == TODAY
    assert Activity.objects.filter(kind=Kind.VISIT).count() == 1


def test_visits_of_non_members_and_former_members_are_not_recorded(community, member, django_assert_num_queries):
    left = join(member, community, state=Membership.State.LEFT)
    with django_assert_num_queries(0):
        assert ledger.record_visit(member, community, left) is False
        assert ledger.record_visit(member, community, None) is False
    assert not Activity.objects.exists()


def test_contributions_bump_the_community_but_reactions_do_not(community, member):
    at = NOW
    ledger.record(member, community, Kind.REACTION, at=at)
    community.refresh_from_db()
    assert community.last_activity_at is None
    ledger.record(member, community, Kind.THREAD, at=at)
    ledger.record(member, community, Kind.REPLY, at=at - datetime.timedelta(hours=1))  # late and older
    community.refresh_from_db()
    assert community.last_activity_at == at
    assert list(Activity.objects.values_list("kind", "day")) == [
        ("reaction", TODAY),
        ("thread", TODAY),
        ("reply", TODAY),
    ]


def test_record_refuses_visits_and_unknown_kinds(community, member):
    for kind in ("visit", "like"):
        with pytest.raises(ValueError, match="cannot record"):
            ledger.record(member, community, kind)
    assert not Activity.objects.exists()


# --- the nightly task, on a real worker ---------------------------------------------


@pytest.mark.live_worker
def test_the_nightly_task_computes_levels_on_a_live_worker_and_is_safe_twice(live_worker, make_user):
    from communities.tasks import compute_participation

    community = Community.objects.create(name="Teachers", slug="teachers", domain="Better lessons.")
    cora, adam, ines = make_user("cora"), make_user("adam"), make_user("ines")
    people = [join(u, community) for u in (cora, adam, ines)]
    today = timezone.now().date()
    log(cora, community, Kind.REPLY, 12, day=today)
    log(adam, community, Kind.THREAD, 2, day=today)

    compute_participation.delay()
    compute_participation.delay()

    def both_runs_done() -> bool:
        return len(re.findall(r"communities\.compute_participation\[[^\]]+\] succeeded", live_worker.output())) == 2

    wait_until(both_runs_done, what="two task runs", log=live_worker.output)
    assert levels_of(*people) == ["core", "active", "inactive"]
    [snap] = LevelSnapshot.objects.filter(community=community)
    assert (snap.week, snap.core, snap.active, snap.peripheral, snap.inactive) == (
        participation.week_of(today),
        1,
        1,
        0,
        1,
    )


# --- The hourly run -----------------------------------------------------------


def test_the_hourly_run_moves_a_member_past_a_threshold_the_same_day(community, make_user):
    quiet = Community.objects.create(name="Bridge engineers", slug="bridges", domain="Bridges that last.")
    ana = join(make_user("ana"), community)
    join(make_user("zoe"), quiet)
    recompute_all(now=NOW - datetime.timedelta(days=3))
    ana.refresh_from_db()
    assert ana.level == Level.INACTIVE
    # Ana posts enough today to be core: the hourly run moves her without waiting for the night.
    log(ana.user, community, Kind.REPLY, participation.thresholds().core_contributions)
    assert participation.recompute_recent(now=NOW) == 1
    ana.refresh_from_db()
    assert ana.level == Level.CORE
    # The quiet community (nothing contributed today or yesterday) was not recomputed: no snapshot
    # for this week, only the one from three days ago.
    assert not LevelSnapshot.objects.filter(community=quiet, week=MONDAY).exists()
    assert LevelSnapshot.objects.filter(community=community, week=MONDAY).exists()
    assert participation.recompute_recent(now=NOW) == 1  # and again: the same, nothing new


def test_the_hourly_run_sees_a_contribution_from_just_before_midnight(community, make_user):
    ana = join(make_user("ana"), community)
    yesterday = TODAY - datetime.timedelta(days=1)
    log(ana.user, community, Kind.THREAD, participation.thresholds().core_contributions, day=yesterday)
    assert participation.recompute_recent(now=NOW) == 1
    ana.refresh_from_db()
    assert ana.level == Level.CORE
    # Two days on, nothing new: nothing to recompute (the nightly run still covers everyone).
    assert participation.recompute_recent(now=NOW + datetime.timedelta(days=2)) == 0


def test_the_hourly_run_is_on_the_beat_schedule():
    from django.conf import settings

    entries = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"communities.recompute_recent_participation", "communities.compute_participation"} <= entries
