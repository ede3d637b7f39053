"""The authorization matrix's legend, shared by the per-feature matrix tests."""

from __future__ import annotations

from collections.abc import Iterable

ROLES = ["anonymous", "outsider", "pending", "banned", "other_facilitator", "member", "facilitator", "owner", "admin"]
VISIBILITIES = ["open", "private"]
OUTSIDERS_OF_PRIVATE = {"anonymous", "outsider", "pending", "banned", "other_facilitator"}
MAY_POST = {"member", "facilitator", "owner", "admin"}
FACILITATING = {"facilitator", "owner", "admin"}


def expected(role: str, visibility: str, action: str, *, reads, own_actions, moderation) -> str | None:
    """R, P, L, F or N; None for a cell that does not exist (anonymous owns nothing)."""
    if role == "anonymous" and action in own_actions:
        return None
    if visibility == "private" and role in OUTSIDERS_OF_PRIVATE:
        return "N"
    if action in reads:
        return "R"
    if role == "anonymous":
        return "L"
    if role not in MAY_POST:
        return "F"
    if role in FACILITATING:
        return "P"
    return "F" if action in moderation else "P"


def cells(actions: Iterable[str], **sets) -> list[tuple[str, str, str]]:
    return [
        (role, visibility, action)
        for role in ROLES
        for visibility in VISIBILITIES
        for action in actions
        if expected(role, visibility, action, **sets) is not None
    ]


def person(world, role: str):
    return None if role == "anonymous" else getattr(world, role)


# --- Subgroups and guests ------------------------------------------------------------------
# Two more roles beside ROLES: ``subgroup_member`` (an active member of the community who is
# in its subgroup) and ``guest`` (an outsider asked into one thread of the community). ``member``
# stays a plain member, outside the subgroup. Three visibilities: open, restricted, private.
SUBGROUP_ROLES = [*ROLES, "subgroup_member", "guest"]
SUBGROUP_VISIBILITIES = ["open", "restricted", "private"]
READS_SUBGROUPS = {"subgroup_member", "facilitator", "owner", "admin"}
MEMBERS_OF = {"member", "subgroup_member", "facilitator", "owner", "admin"}


def expected_subgroup_cell(role: str, visibility: str, action: str) -> str:
    """R, P, L, F or N for the subgroup and guest actions (tests/test_subgroup_guest_matrix.py).

    read_subgroup / reply_subgroup: a thread of the subgroup. read_guest / reply_guest: the thread
    the guest was asked into. read_other: another thread of the community. list: the community's
    thread list shows the subgroup's thread (R) or not (N: not there, or no list at all).
    """
    if action in ("read_subgroup", "reply_subgroup", "list"):
        if role in READS_SUBGROUPS:
            return "R" if action != "reply_subgroup" else "P"
        return "N"
    reader = role in MEMBERS_OF or visibility == "open" or (role == "guest" and action != "read_other")
    if not reader:
        return "N"
    if action in ("read_guest", "read_other"):
        return "R"
    # reply_guest
    if role in MEMBERS_OF or role == "guest":
        return "P"
    return "L" if role == "anonymous" else "F"
