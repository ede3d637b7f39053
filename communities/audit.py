"""The audit log: every facilitator, owner and site-admin action, in one function.

Services call ``record`` inside the transaction of the change it describes,
so an action that rolls back leaves no entry. ``detail`` is one line in words
("post #12 in “Night rounds”: Personal attack"); it is shown to facilitators.
"""

from __future__ import annotations

from accounts.models import User
from communities.models import AuditEntry, Community
from core.mail import one_line


def record(
    community: Community, actor: User | None, action: str, *, target_user: User | None = None, detail: str = ""
) -> AuditEntry:
    return AuditEntry.objects.create(
        community=community, actor=actor, action=action, target_user=target_user, detail=one_line(detail, 500)
    )
