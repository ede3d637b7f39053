"""Pictures and PDFs a visitor would open if the community were public (``communities.exposure``)."""

from __future__ import annotations

from django.db.models import Q

from attachments.models import Attachment
from communities import exposure, policy
from communities.models import Community


def attachment_exposure(community: Community) -> exposure.Exposed:
    # In what the other providers list: published posts, resources not removed, events.
    in_posts = policy.published_posts_q("post__") & Q(post__thread__community=community)
    in_resources = policy.listed_resources_q("resource__") & Q(resource__community=community)
    shown = Attachment.objects.filter(in_posts | in_resources | Q(event__community=community))
    listing = exposure.listing("Pictures and PDFs", shown.order_by("-created_at", "-pk"), "filename", order=45)
    # Listed when there are any: most communities have none, and their page stays as it was.
    return exposure.Exposed([listing] if listing.count else [])


def thread_attachment_exposure(thread_id: int) -> exposure.Exposed:
    """Pictures and PDFs in the published posts of one thread (a thread moved into a more open community)."""
    shown = Attachment.objects.filter(policy.published_posts_q("post__") & Q(post__thread_id=thread_id))
    return exposure.Exposed(
        [exposure.listing("Pictures and PDFs", shown.order_by("-created_at", "-pk"), "filename", order=45)]
    )
