"""Events a visitor would see if the community were public (``communities.exposure``)."""

from __future__ import annotations

from communities import exposure
from communities.models import Community
from events.models import Event


def event_exposure(community: Community) -> exposure.Exposed:
    events = Event.objects.filter(community=community)
    return exposure.Exposed(
        [exposure.listing("Events", events.order_by("-starts_at", "-pk"), "title", order=50)],
        people=[Event.hosts.through.objects.filter(event__community=community).values("user_id")],
    )
