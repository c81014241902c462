"""How far this machine's clock is from the shared database's.

Leases are written with the clock of the machine that takes them and read against the clock of the machine
that reaps them; a machine whose clock runs ahead would hand back the live work of the others. Keep every
machine on NTP; a service says at start when its clock is off by more than `MAX_SKEW_S`.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from bastidor.database.engines import postgres_engine
from bastidor.database.places import safe_url

MAX_SKEW_S = 2.0


def clock_offset_s(url: str) -> float:
    """This machine's clock minus the database server's, in seconds (half the round trip is allowed for)."""
    with postgres_engine(url).connect() as connection:
        before = dt.datetime.now(dt.timezone.utc)
        server = connection.execute(text("SELECT clock_timestamp()")).scalar()
        after = dt.datetime.now(dt.timezone.utc)
    local = before + (after - before) / 2
    return (local - server).total_seconds()


def clock_warning(url: str) -> str | None:
    """A warning when this machine's clock is off the database's by more than `MAX_SKEW_S`, else None."""
    offset = clock_offset_s(url)
    if abs(offset) <= MAX_SKEW_S:
        return None
    side = "ahead of" if offset > 0 else "behind"
    return (f"warning: this machine's clock is {abs(offset):.1f} s {side} the database server's "
            f"({safe_url(url)}): leases are timed by each machine's clock, so a clock that is off can hand back "
            "work that is still being done, or keep a dead bot's work waiting. Keep every machine on NTP.")
