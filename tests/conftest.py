"""Shared fixtures: the named people of a small world, real services, a live worker."""

from __future__ import annotations

import os
import shutil
import uuid

import pytest
from hypothesis import settings as hypothesis_settings

from tests.browser import browser, page  # noqa: F401 - fixtures shared by the browser journeys
from tests.media import media_root  # noqa: F401 - a fixture shared by the tests that store files
from tests.services import database_is_postgres, redis_is_configured, service_problems

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "") == "1"

# Property tests draw the same examples on every run and machine (derandomize), and keep
# no example database under .hypothesis/: a failure in CI reproduces locally as is.
# HYPOTHESIS_PROFILE=explore draws fresh random examples instead, to look for new failures.
hypothesis_settings.register_profile("deterministic", derandomize=True, database=None, print_blob=True)
hypothesis_settings.register_profile("explore", derandomize=False, database=None, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))

_skipped_for_services: list[str] = []


def pytest_sessionstart(session):
    problems = service_problems()
    if REQUIRE_SERVICES and problems:
        pytest.exit(
            "REQUIRE_SERVICES=1 but the real services are not usable:\n  - " + "\n  - ".join(problems),
            returncode=3,
        )


def pytest_unconfigure(config):
    # The per-run broker and cache folders of the embedded default (tests/settings.py).
    from django.conf import settings

    for path in (
        getattr(settings, "TEST_CELERY_DIR", None),
        settings.CACHES["default"].get("LOCATION"),
        settings.MEDIA_ROOT,
    ):
        if path and "test-" in str(path):
            shutil.rmtree(path, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    if database_is_postgres() and redis_is_configured():
        return
    reason = "needs DATABASE_URL (PostgreSQL) and REDIS_URL; set them (CI does) to run it"
    for item in items:
        if "services" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))
            _skipped_for_services.append(item.nodeid)


def pytest_terminal_summary(terminalreporter):
    from django.conf import settings

    db = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    broker = "redis" if redis_is_configured() else "filesystem"
    terminalreporter.write_sep("-", f"copsite services: database={db} broker={broker}")
    if _skipped_for_services:
        terminalreporter.write_line(
            f"Skipped {len(_skipped_for_services)} service test(s) (no PostgreSQL/Redis configured):"
        )
        for nodeid in _skipped_for_services:
            terminalreporter.write_line(f"  {nodeid}")


@pytest.fixture(autouse=True)
def isolated_cache(settings):
    """A fresh cache namespace per test, so rate-limit counters never leak between tests."""
    caches = {alias: dict(conf) for alias, conf in settings.CACHES.items()}
    caches["default"]["KEY_PREFIX"] = f"t{uuid.uuid4().hex[:12]}"
    settings.CACHES = caches
    yield


@pytest.fixture
def mail_dir(tmp_path):
    path = tmp_path / "mail"
    path.mkdir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def make_user(db):
    from allauth.account.models import EmailAddress

    from accounts.models import User

    def make(username: str, *, password: str = "correct horse battery", verified: bool = True, **extra) -> User:
        email = extra.pop("email", f"{username}@example.org")
        user = User.objects.create_user(username=username, email=email, password=password, **extra)
        EmailAddress.objects.create(user=user, email=email, verified=verified, primary=True)
        return user

    return make


@pytest.fixture
def member(make_user):
    return make_user("mira", display_name="Mira Member")


@pytest.fixture
def outsider(make_user):
    return make_user("otto", display_name="Otto Outsider")


@pytest.fixture
def site_admin(make_user):
    return make_user("ada", display_name="Ada Admin", is_staff=True, is_superuser=True)


@pytest.fixture
def start_worker(transactional_db, mail_dir):
    """Start real Celery worker processes on the tests' queue; all are stopped after the test."""
    from tests.worker import LiveWorker

    started = []

    def start(**extra_env: str) -> LiveWorker:
        worker = LiveWorker(mail_dir=mail_dir, extra_env=extra_env)
        started.append(worker)
        worker.start()
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def live_worker(start_worker):
    """A real Celery worker process consuming the tests' queue on the real broker."""
    return start_worker()


@pytest.fixture
def world(make_user, member, outsider, site_admin):
    """Three communities and one person in each role (tests read like the product).

    public  — open, open to join;        approval — open, joins need approval;
    private — private, by invitation.    ``elsewhere`` — another private community.
    In public and private: owner Olive, facilitator Fern, member Mira, pending Pat, banned Bo.
    Otto is an outsider; Flo facilitates only ``elsewhere``; Ada is a site admin.
    """
    from datetime import timedelta
    from types import SimpleNamespace

    from django.utils import timezone

    from communities import services
    from communities.models import Community, Membership

    w = SimpleNamespace(member=member, outsider=outsider, admin=site_admin)
    w.owner = make_user("olive", display_name="Olive Owner")
    w.facilitator = make_user("fern", display_name="Fern Facilitator")
    w.pending = make_user("pat", display_name="Pat Pending")
    w.banned = make_user("bo", display_name="Bo Banned")
    w.other_facilitator = make_user("flo", display_name="Flo Elsewhere")

    def community(slug, name, visibility, join_policy, domain):
        return services.create_community(
            w.owner,
            name=name,
            slug=slug,
            domain=domain,
            visibility=visibility,
            join_policy=join_policy,
            description=f"About **{name}**.",
        )

    Vis, Join = Community.Visibility, Community.JoinPolicy
    w.public = community("commons", "Ward Commons", Vis.OPEN, Join.OPEN, "Getting better at ward rounds.")
    w.approval = community("guild", "Rehab Guild", Vis.OPEN, Join.APPROVAL, "Graded activity that sticks.")
    w.private = community(
        "circle", "Zebra Quince Circle", Vis.PRIVATE, Join.INVITE, "Xylophone tapering cases in confidence."
    )
    w.elsewhere = services.create_community(
        w.other_facilitator,
        name="Elsewhere",
        slug="elsewhere",
        domain="Another private group.",
        visibility=Vis.PRIVATE,
        join_policy=Join.INVITE,
    )
    for c in (w.public, w.private):
        Membership.objects.create(user=w.facilitator, community=c, role=Membership.Role.FACILITATOR)
        Membership.objects.create(user=w.member, community=c)
        Membership.objects.create(
            user=w.pending, community=c, state=Membership.State.PENDING, requested_at=timezone.now()
        )
        Membership.objects.create(user=w.banned, community=c, state=Membership.State.BANNED)
        Community.objects.filter(pk=c.pk).update(member_count=3)
    Membership.objects.create(
        user=w.pending, community=w.approval, state=Membership.State.PENDING, requested_at=timezone.now()
    )
    # The world's people are long-standing: each contributed before, so no post of theirs is a
    # "first contribution" (celebrated once, communities/ledger.py). Newcomers are made by the tests.
    Membership.objects.update(first_contributed_at=timezone.now() - timedelta(days=90))
    for c in (w.public, w.approval, w.private, w.elsewhere):
        c.refresh_from_db()
    return w


@pytest.fixture
def restricted(world):
    """``world`` with ``world.restricted``: a restricted community, joined on request, whose name and
    domain anyone may see and whose inside only members read. Same roles as in ``public``
    (owner Olive, facilitator Fern, member Mira, pending Pat, banned Bo); Flo still facilitates
    only ``elsewhere``."""
    from datetime import timedelta

    from django.utils import timezone

    from communities import services
    from communities.models import Community, Membership

    w = world
    w.restricted = services.create_community(
        w.owner,
        name="Kestrel Lattice Studio",
        slug="studio",
        domain="Night-shift handover drills, shared among practitioners.",
        description="Members-only **Vellichor** handbook.",
        visibility=Community.Visibility.RESTRICTED,
        join_policy=Community.JoinPolicy.APPROVAL,
    )
    c = w.restricted
    Membership.objects.create(user=w.facilitator, community=c, role=Membership.Role.FACILITATOR)
    Membership.objects.create(user=w.member, community=c)
    Membership.objects.create(user=w.pending, community=c, state=Membership.State.PENDING, requested_at=timezone.now())
    Membership.objects.create(user=w.banned, community=c, state=Membership.State.BANNED)
    Community.objects.filter(pk=c.pk).update(member_count=3)
    Membership.objects.filter(community=c).update(first_contributed_at=timezone.now() - timedelta(days=90))
    c.refresh_from_db()
    return w


@pytest.fixture
def conversation(world):
    """A question thread in the public community with a small reply tree, and one in the private one."""
    from types import SimpleNamespace

    from discussions import services

    c = SimpleNamespace()
    c.thread = services.start_thread(
        world.member,
        world.public,
        title="How do you assess pain in delirium?",
        kind="question",
        body="We struggle with **PAINAD** at night.",
        tags=["delirium", "assessment"],
    )
    c.opening = c.thread.opening_post
    c.answer = services.reply(world.facilitator, c.thread, "Try the *abbey* scale first.")
    c.nested = services.reply(world.owner, c.thread, "Agree with Fern, and chart it hourly.", parent=c.answer)
    c.thread.refresh_from_db()
    c.private_thread = services.start_thread(
        world.member,
        world.private,
        title="Yak canary case",
        body="Quokka tapering details",
        kind="discussion",
    )
    return c
