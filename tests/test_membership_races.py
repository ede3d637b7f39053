"""Two requests at once for the same membership change leave exactly one result (real PostgreSQL)."""

from __future__ import annotations

import pytest

from communities import services
from communities.models import Community, Membership
from core.models import OutboundEmail
from tests import factories
from tests.concurrency import run_together

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_two_facilitators_approving_at_once_make_one_member_and_one_email(world):
    request = Membership.objects.get(user=world.pending, community=world.approval)
    factories.membership(world.facilitator, world.approval, role=Membership.Role.FACILITATOR)
    results = run_together(
        lambda: services.decide_request(world.owner, world.approval, request.pk, approve=True),
        lambda: services.decide_request(world.facilitator, world.approval, request.pk, approve=True),
    )
    errors = [r for r in results if isinstance(r, services.MembershipError)]
    assert len(errors) == 1, results
    assert "already been handled" in str(errors[0])
    assert Membership.objects.get(pk=request.pk).state == Membership.State.ACTIVE
    assert Community.objects.get(pk=world.approval.pk).member_count == 2
    assert OutboundEmail.objects.filter(to=world.pending.email).count() == 1


def test_the_same_person_joining_twice_at_once_gets_one_membership(world):
    results = run_together(*[lambda: services.join(world.outsider, world.public) for _ in range(4)])
    assert sum(isinstance(r, Membership) for r in results) == 1, results
    assert all(isinstance(r, (Membership, services.MembershipError)) for r in results), results
    assert Membership.objects.filter(user=world.outsider, community=world.public).count() == 1
    assert Community.objects.get(pk=world.public.pk).member_count == 4


def test_many_people_joining_at_once_keep_the_member_count_exact(world, make_user):
    people = [make_user(f"p{i}") for i in range(12)]
    results = run_together(*[lambda p=p: services.join(p, world.public) for p in people])
    assert all(isinstance(r, Membership) for r in results), results
    assert Community.objects.get(pk=world.public.pk).member_count == 3 + 12
