"""Time zones by IANA name (Europe/Lisbon, UTC), with a suggestion when a name is misspelled."""

from __future__ import annotations

import difflib
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones


def find_timezone(name: str) -> ZoneInfo:
    """The time zone called `name`, or a ValueError whose message suggests the nearest name."""
    if name in _names():
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    raise ValueError(f"unknown time zone '{name}'{_suggestion(name)}")


def _suggestion(name: str) -> str:
    lowered = name.strip().lower().replace(" ", "_")
    by_lower = {zone.lower(): zone for zone in _names()}
    if lowered in by_lower:
        return f", did you mean '{by_lower[lowered]}'?"
    by_city = {zone.rsplit("/", 1)[-1].lower(): zone for zone in _names() if "/" in zone}
    if lowered in by_city:
        return f", did you mean '{by_city[lowered]}'?"
    near = difflib.get_close_matches(lowered, list(by_lower), n=1, cutoff=0.8)
    if near:
        return f", did you mean '{by_lower[near[0]]}'?"
    return ": use an IANA time zone name such as Europe/Lisbon, America/New_York or UTC"


@lru_cache(maxsize=1)
def _names() -> frozenset[str]:
    return frozenset(available_timezones())
