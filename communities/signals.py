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
