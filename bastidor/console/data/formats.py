"""How the console writes numbers for people (shared by pages, exports and notifications)."""

from __future__ import annotations


def duration(milliseconds: float | None) -> str:
    """A duration in milliseconds for people: "85 ms", "1.2 s", "3 min 05 s", "2 h 01 min"."""
    if milliseconds is None:
        return ""
    if milliseconds < 1000:
        return f"{milliseconds:.0f} ms"
    seconds = milliseconds / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
