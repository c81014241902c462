"""The console's roles, ranked: a viewer reads, an operator also acts on work, an admin also manages users."""

from __future__ import annotations

ROLES: tuple[str, ...] = ("viewer", "operator", "admin")
"""From least to most rights; each role can do everything the roles before it can."""

ROLE_DESCRIPTIONS: dict[str, str] = {
    "viewer": "sees runs, items, exceptions, flows, schedules and KPIs",
    "operator": "also handles exceptions (assign, resolve, send back for a retry) and pauses schedules",
    "admin": "also manages the console's users",
}


def check_role(role: str) -> str:
    """Return `role` when it is one of `ROLES`; raise ValueError naming the valid roles otherwise."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    return role


def role_at_least(role: str, needed: str) -> bool:
    """True when `role` has at least the rights of `needed` (an unknown role has none)."""
    if role not in ROLES:
        return False
    return ROLES.index(role) >= ROLES.index(check_role(needed))
