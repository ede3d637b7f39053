"""What events announce to the apps above them, sent inside the write's own transaction.

events imports none of the apps above it: those that care (notifications)
connect receivers in their ``AppConfig.ready()``.
"""

from __future__ import annotations

from django.dispatch import Signal

# An event someone is going to starts within the hour (sent once per person): event, user.
reminder_due = Signal()
# An event was scheduled or edited (its description may name new attachments): event, actor.
event_saved = Signal()
