"""What discussions announce to the apps above them, sent inside the write's own transaction.

discussions imports none of the apps above it: those that care (notifications)
connect receivers in their ``AppConfig.ready()``. Receivers run synchronously,
so what they write commits or rolls back with the post.
"""

from __future__ import annotations

from django.dispatch import Signal

# A post became visible to its community (new, approved, or edited with new mentions):
# post, actor, mentions (usernames the markup linked), reply_to (the parent post or None).
post_published = Signal()
# A reply became the accepted answer of its question: post, actor.
answer_accepted = Signal()
# A facilitator hid a post or turned a held one down: post, actor.
post_hidden = Signal()
# A member found a post helpful (not sent when they take it back): post, actor.
post_reacted = Signal()
# A member flagged a post for the facilitators: post, actor, reason.
post_flagged = Signal()
# A post (new, or edited with new links) waits for a facilitator's review: post.
post_held = Signal()
# A facilitator settled what waited about a post: approved it, or dismissed its flags: post, actor.
# (Hiding a post, or turning a held one down, settles it too: ``post_hidden``.)
post_reviewed = Signal()
