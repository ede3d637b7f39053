"""The tags of a community's resources, for its vocabulary (communities/expertise.py)."""

from __future__ import annotations

from django.db.models import Q

from communities.models import Community
from resources.models import Resource


def resource_tags(community: Community) -> Q:
    """``TaggedItem`` rows of ``community``'s listed resources (a join on content type: no look-up of its own)."""
    resources = Resource.objects.filter(community=community).listed().values("pk")
    return Q(content_type__app_label="resources", content_type__model="resource", object_id__in=resources)
