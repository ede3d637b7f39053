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
