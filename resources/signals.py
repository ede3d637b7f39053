"""What resources announce to the apps above them, sent inside the write's own transaction.

resources imports none of the apps above it: those that care (attachments)
connect receivers in their ``AppConfig.ready()``.
"""

from __future__ import annotations

from django.dispatch import Signal

# A resource was added or edited (its markdown fields may name new attachments): resource, actor.
resource_saved = Signal()
