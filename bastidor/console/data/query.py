"""Reading a page's query string: dates and page numbers as a person may type them into a filter.

A value that is not understood is ignored, with a sentence in `problems` that the page shows.
"""

from __future__ import annotations

from datetime import date, datetime, time, timezone

MAX_PAGE = 1_000_000
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(9998, 12, 31)
"""The dates a filter accepts: far enough from the calendar's ends that a day or a period around them exists."""


def day_start(day: date) -> datetime:
    """Midnight UTC at the start of `day`."""
    return datetime.combine(day, time(0), tzinfo=timezone.utc)


def parse_day(text: str, label: str, problems: list[str]) -> date | None:
    """A ``YYYY-MM-DD`` date, or None (with a message in `problems` when `text` is not one)."""
    text = text.strip()
    if not text:
        return None
    try:
        return day_in_range(date.fromisoformat(text))
    except ValueError:
        problems.append(f"{label} date '{text[:40]}' is not a date like 2026-11-27 between "
                        f"{EARLIEST_DAY.year} and {LATEST_DAY.year}; that filter is ignored.")
        return None


def day_in_range(day: date) -> date:
    """`day` when it lies between `EARLIEST_DAY` and `LATEST_DAY`; raise ValueError otherwise."""
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise ValueError(f"{day.isoformat()} is outside {EARLIEST_DAY.year}-{LATEST_DAY.year}")
    return day


def parse_page(text: str) -> int:
    """A page number of 1 or more (anything else means the first page)."""
    try:
        return max(1, min(int(text), MAX_PAGE))
    except ValueError:
        return 1
