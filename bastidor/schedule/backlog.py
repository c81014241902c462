"""Fires waiting to be recorded: which to record, and which to fold into a later fire of the same schedule.

The scheduler hands each fire to one recording thread. When that thread falls behind (hundreds of
schedules firing every second, a slow disk), several fires of one schedule wait together. Recording them
all would queue runs late and pile up rows that say nothing new, so only the latest fire of each schedule
is recorded; the older ones are *coalesced* into it (as fires missed within the grace are after a
restart) and only counted. A fire that is already later than its misfire grace when its turn comes is
recorded as missed, never queued late. Everything here is pure: `now` is a parameter.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from bastidor.schedule.triggers import require_aware

if TYPE_CHECKING:
    from bastidor.schedule.model import Schedule

MIN_LATENESS_S = 1.0
"""The least lateness ever treated as missed, whatever the grace (APScheduler's own floor is 1 s too)."""

FIRE = "fire"
MISSED = "missed"
COALESCED = "coalesced"


@dataclass(frozen=True)
class Fire:
    """One fire time of a schedule to record, and how.

    `kind` is ``fire`` (queue a run, unless the schedule is paused or its overlap policy says no),
    ``missed`` (late beyond the grace: recorded, never run) or ``coalesced`` (recorded as skipped: it runs
    as part of the fire at `into`). `earlier` counts fire times already folded into this one that get no
    row of their own (the scheduler was behind)."""

    schedule: Schedule
    fire_time: dt.datetime
    kind: str = FIRE
    into: dt.datetime | None = None
    earlier: int = 0


@dataclass(frozen=True)
class BacklogPlan:
    """What to record from a backlog (`fires`, in the order they arrived) and how many fire times of each
    schedule were coalesced into a later one without a row (`coalesced`, by schedule id; the `earlier` of
    every fire in `fires` is 0, since those are counted here)."""

    fires: list[Fire]
    coalesced: Counter[str] = field(default_factory=Counter)

    @property
    def total_coalesced(self) -> int:
        """How many fire times were coalesced in all."""
        return sum(self.coalesced.values())


def plan_backlog(pending: list[Fire], now: dt.datetime) -> BacklogPlan:
    """Keep the latest waiting fire of each schedule, coalesce the others into it, and turn a kept fire
    that is later than its schedule's grace at `now` into a missed one. The same fire time twice is kept
    once and not counted as coalesced."""
    require_aware(now, "now")
    latest: dict[str, Fire] = {}
    coalesced: Counter[str] = Counter()
    for fire in pending:
        schedule_id = fire.schedule.id
        coalesced[schedule_id] += fire.earlier
        kept = latest.pop(schedule_id, None)
        if kept is not None and kept.fire_time != fire.fire_time:
            coalesced[schedule_id] += 1
        latest[schedule_id] = fire if kept is None or fire.fire_time >= kept.fire_time else kept
    kept_fires = [_missed_if_too_late(replace(fire, earlier=0), now) for fire in latest.values()]
    return BacklogPlan(kept_fires, +coalesced)


def late_limit_s(schedule: Schedule) -> float:
    """How late a fire may be recorded and still run: its misfire grace, at least `MIN_LATENESS_S`."""
    return max(MIN_LATENESS_S, schedule.misfire_grace_s)


def _missed_if_too_late(fire: Fire, now: dt.datetime) -> Fire:
    late_s = (now - fire.fire_time).total_seconds()
    if fire.kind == FIRE and late_s > late_limit_s(fire.schedule):
        return replace(fire, kind=MISSED)
    return fire


def batches(fires: Sequence[Fire], size: int) -> Iterator[list[Fire]]:
    """`fires` in order, in consecutive lists of at most `size` (one transaction each)."""
    for start in range(0, len(fires), size):
        yield list(fires[start:start + size])
