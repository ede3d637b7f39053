"""Resources and files a visitor would find if the community were public (``communities.exposure``)."""

from __future__ import annotations

from communities import exposure
from communities.models import Community
from resources.models import Resource


def resource_exposure(community: Community) -> exposure.Exposed:
    library = Resource.objects.listed().filter(community=community).order_by("-created_at", "-pk")
    return exposure.Exposed(
        [
            exposure.listing("Resources", library, "title", order=30),
            exposure.listing("Files", library.exclude(file=""), "file_name", order=40),
        ],
        people=[library.filter(added_by__isnull=False).values("added_by_id")],
    )
