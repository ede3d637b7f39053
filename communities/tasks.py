from __future__ import annotations

from celery import shared_task

from communities import participation, services


@shared_task(name="communities.compute_participation", time_limit=600, soft_time_limit=540)
def compute_participation() -> int:
    """Nightly: recompute every community's participation levels and this week's snapshot.

    Safe to run twice (a retry, a duplicate beat message): levels are a pure
    function of the ledger and the snapshot is one row per community and week.
    Returns the number of communities computed.
    """
    return participation.recompute_all()


@shared_task(name="communities.recompute_recent_participation", time_limit=600, soft_time_limit=540)
def recompute_recent_participation() -> int:
    """Hourly: recompute the levels of the communities with a contribution today or yesterday, so
    nobody waits for the night to move level (safe to run twice, as the nightly run)."""
    return participation.recompute_recent()


@shared_task(name="communities.lift_expired_bans", time_limit=300, soft_time_limit=270)
def lift_expired_bans() -> int:
    """Every 10 minutes: lift the bans whose end date has passed, each once (safe to run twice)."""
    return services.lift_expired_bans()
