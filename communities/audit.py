"""The audit log: every facilitator, owner and site-admin action, in one function.

Services call ``record`` inside the transaction of the change it describes,
so an action that rolls back leaves no entry. ``detail`` is one line in words
("post #12 in “Night rounds”: Personal attack"); it is shown to facilitators.
``describe`` reads an entry back as a sentence ("Ana banned Ben until 3 March: spam").
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from accounts.models import User
from communities.models import AuditEntry, Community
from core.mail import one_line


def record(
    community: Community, actor: User | None, action: str, *, target_user: User | None = None, detail: str = ""
) -> AuditEntry:
    return AuditEntry.objects.create(
        community=community, actor=actor, action=action, target_user=target_user, detail=one_line(detail, 500)
    )


def day_words(moment: datetime, today: datetime | None = None) -> str:
    """ "3 March" this year, "3 March 2027" another year, in the site's time zone."""
    local = timezone.localtime(moment)
    year = timezone.localtime(today or timezone.now()).year
    return f"{local.day} {local:%B}" + ("" if local.year == year else f" {local.year}")


def ban_detail(reason: str, until: datetime | None) -> str:
    """A ban's detail as the log reads it after the verb: "until 3 March: spam" or ": spam"."""
    return (f"until {day_words(until)}" if until is not None else "") + f": {reason}"


# What each action reads as after the actor's name; {target} is the person acted on.
# An action not listed reads "did <action>", so a new verb is never hidden.
VERBS: dict[str, str] = {
    "rhythm.add": "declared a beat of the community's rhythm",
    "rhythm.remove": "removed a beat of the community's rhythm",
    "community.create": "created the community",
    "community.edit": "edited the community's details",
    "community.visibility": "changed who can see the community",
    "community.join_policy": "changed who may join",
    "community.slug": "changed the community's address",
    "community.restore": "restored the community from a file",
    "community.request_approve": "approved {target}'s request for this community",
    "member.join": "joined",
    "member.request": "asked to join",
    "member.leave": "left",
    "member.withdraw": "withdrew their request to join",
    "member.invite": "invited",
    "member.accept_invitation": "accepted an invitation",
    "request.approve": "approved {target}'s request to join",
    "request.decline": "declined {target}'s request to join",
    "member.role": "changed {target}'s role",
    "member.level": "set {target}'s participation level",
    "member.remove": "removed {target}",
    "member.ban": "banned {target}",
    "member.unban": "lifted the ban on {target}",
    "member.ban_ended": "{target}'s ban ended (its end date passed)",
    "member.buddy": "paired {target} with a buddy",
    "member.unbuddy": "unpaired {target} from their buddy",
    "post.edit": "edited",
    "post.delete": "deleted their",
    "post.delete_by_moderator": "deleted",
    "post.hide": "hid",
    "post.unhide": "showed again",
    "post.approve": "approved",
    "post.reject": "rejected",
    "flag.dismiss": "dismissed the flags on",
    "thread.lock": "locked",
    "thread.unlock": "unlocked",
    "thread.pin": "pinned",
    "thread.unpin": "unpinned",
    "thread.move": "moved",
    "thread.good_first_reply": "marked as a good first reply",
    "thread.not_good_first_reply": "unmarked as a good first reply",
    "event.create": "created",
    "event.edit": "edited",
    "event.cancel": "cancelled",
    "subgroup.create": "created the subgroup",
    "subgroup.edit": "changed the subgroup",
    "subgroup.delete": "deleted the subgroup",
    "subgroup.add": "added {target} to the subgroup",
    "subgroup.remove": "removed {target} from the subgroup",
    "guest.invite": "invited a guest expert to",
    "guest.accept": "accepted a guest's place in",
    "guest.revoke": "ended {target}'s guest access to",
    "guest.extend": "extended {target}'s guest access to",
}

# The filter's choices: actions grouped as a facilitator looks for them.
ACTION_CHOICES = [
    ("member.ban", "Bans"),
    ("member.unban", "Bans lifted"),
    ("member.ban_ended", "Bans ended by date"),
    ("member.remove", "Removals"),
    ("member.role", "Role changes"),
    ("request.approve", "Requests approved"),
    ("request.decline", "Requests declined"),
    ("post.hide", "Posts hidden"),
    ("post.reject", "Held posts rejected"),
    ("post.approve", "Held posts approved"),
    ("flag.dismiss", "Flags dismissed"),
    ("thread.move", "Threads moved"),
    ("member.buddy", "Buddies paired"),
    ("member.unbuddy", "Buddies unpaired"),
    ("thread.good_first_reply", "Good first replies marked"),
    ("community.edit", "Community edits"),
    ("subgroup.add", "Added to subgroups"),
    ("subgroup.remove", "Removed from subgroups"),
    ("guest.invite", "Guests invited"),
    ("guest.revoke", "Guest access ended"),
]


def describe(entry: AuditEntry) -> str:
    """The entry in words: "Ana banned Ben until 3 March: spam" (actor and target loaded with it)."""
    actor = entry.actor.name if entry.actor is not None else "The site"
    target = entry.target_user.name if entry.target_user is not None else "someone"
    template = VERBS.get(entry.action)
    if entry.action == "member.ban_ended":
        return f"{target}'s ban ended (its end date passed)"
    verb = f"did {entry.action}" if template is None else template.format(target=target)
    if not entry.detail:
        return f"{actor} {verb}"
    # A ban's detail starts with "until …" or ": reason"; every other detail follows a colon.
    if entry.action == "member.ban":
        joiner = " " if entry.detail.startswith("until ") else ""
        return f"{actor} {verb}{joiner}{entry.detail}"
    if (
        template is not None
        and "{target}" not in template
        and not entry.action.startswith(
            ("community.", "member.join", "member.request", "member.leave", "member.withdraw", "member.accept")
        )
    ):
        # "Ana hid post #12 in “Night rounds”: spam" — the detail names the thing acted on.
        return f"{actor} {verb} {entry.detail}"
    return f"{actor} {verb}: {entry.detail}"
