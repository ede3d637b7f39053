"""What communities announce to the apps above them, sent inside the write's own transaction.

communities imports none of the apps above it: those that care (notifications)
connect receivers in their ``AppConfig.ready()``. Receivers run synchronously,
so what they write commits or rolls back with the change.
"""

from __future__ import annotations

from django.dispatch import Signal

# Someone asked to join a community that approves its members: community, user (the person asking).
join_requested = Signal()
# A join request was settled: approved or declined by a facilitator, or withdrawn: community, user (who asked).
join_request_settled = Signal()
# The nightly or hourly recompute moved members between participation levels (communities.participation):
# community_id, changes (a list of ``LevelMove``), at (the recompute's time). Sent inside its transaction.
levels_changed = Signal()
# A member's first contribution to a community (``ledger.record``), sent exactly once per member and
# community: community, user, kind (an Activity kind), post (the post, for a thread or a reply; else None).
first_contribution = Signal()
# A facilitator paired a newcomer with a buddy: community, newcomer, buddy, actor (all Users).
buddy_paired = Signal()
