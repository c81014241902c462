"""Can the bots keep up? What each schedule asks of the worker pool: how often it fires times how long
its runs take, compared with the number of workers.

A schedule that fires every 10 s with runs of 30 s keeps three bots busy; with `overlap: skip` it never
keeps more than one (its other fires are skipped). When all schedules together keep more bots busy than
`serve` has workers, runs wait in the queue ever longer and fires are skipped or coalesced: `schedules`
and `serve` warn, naming the schedules that cause it. Everything here is pure: `now` is a parameter.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bastidor.schedule.firetimes import next_fire_times
from bastidor.schedule.triggers import IntervalSpec

if TYPE_CHECKING:
    from bastidor.schedule.model import Schedule

FIRES_SAMPLED = 10
"""How many coming fire times of a cron schedule its rate is measured over (its busiest stretch, usually)."""
SHOWN = 5


@dataclass(frozen=True)
class RunEstimate:
    """How long one run of a flow takes, in `seconds`, and where that figure comes from."""

    seconds: float
    source: str


@dataclass(frozen=True)
class ScheduleDemand:
    """One schedule's demand: `runs_per_s` times the length of a run."""

    schedule: Schedule
    runs_per_s: float
    run: RunEstimate

    @property
    def bots(self) -> float:
        """How many bots the schedule keeps busy; at most one with `overlap: skip`."""
        busy = self.runs_per_s * self.run.seconds
        return min(busy, 1.0) if str(self.schedule.overlap) == "skip" else busy


@dataclass(frozen=True)
class Overload:
    """Schedules that together keep more bots busy than there are `workers`; `causes` are the ones that
    take most, largest first: without them the rest would fit."""

    total_bots: float
    workers: int
    causes: list[ScheduleDemand]


def fire_rate(schedule: Schedule, now: dt.datetime) -> float:
    """How many times a second the schedule fires: exact for an interval, measured over the next
    `FIRES_SAMPLED` fire times for a cron, 0 for a schedule that fires once or no more."""
    if isinstance(schedule.trigger, IntervalSpec):
        return 1.0 / schedule.trigger.every.total_seconds()
    times = next_fire_times(schedule, now, FIRES_SAMPLED)
    if len(times) < 2:
        return 0.0
    return (len(times) - 1) / (times[-1] - times[0]).total_seconds()


def find_overload(demands: list[ScheduleDemand], workers: int) -> Overload | None:
    """The overload, when the schedules keep more than `workers` bots busy; None when the pool keeps up."""
    total = sum(demand.bots for demand in demands)
    if total <= workers:
        return None
    causes, left = [], total
    for demand in sorted(demands, key=lambda d: d.bots, reverse=True):
        if left <= workers:
            break
        causes.append(demand)
        left -= demand.bots
    return Overload(total, workers, causes)


def describe_overload(overload: Overload) -> str:
    """The warning, in plain sentences: what is wrong, which schedules cause it, and what to do."""
    lines = [f"warning: the schedules keep about {_bots(overload.total_bots)} busy (how often each fires times "
             f"how long its runs take), but serve has {overload.workers} worker(s): runs will wait in the queue "
             "and fires will be skipped or coalesced. The schedules that cause it:"]
    lines += [f"  {_one_line(demand)}" for demand in overload.causes[:SHOWN]]
    if len(overload.causes) > SHOWN:
        lines.append(f"  ... and {len(overload.causes) - SHOWN} more schedule(s) like these")
    lines.append(f"What to do: {_advice(overload)}.")
    return "\n".join(lines)


def _one_line(demand: ScheduleDemand) -> str:
    schedule = demand.schedule
    return (f"{schedule.id} ({schedule.trigger.text()}, overlap {schedule.overlap}): runs take about "
            f"{round(demand.run.seconds, 1):g} s ({demand.run.source}), so it keeps about {_bots(demand.bots)} busy")


def _advice(overload: Overload) -> str:
    steps = ["give these schedules a longer interval"]
    if any(str(demand.schedule.overlap) == "allow" for demand in overload.causes):
        steps.append("set `overlap: skip` (or `queue_one`) on them so that their runs cannot pile up")
    steps.append(f"or run serve with more workers (--workers; about {math.ceil(overload.total_bots)} would keep up)")
    return ", ".join(steps)


def _bots(count: float) -> str:
    shown = f"{count:.0f}" if count >= 10 else f"{count:.1f}"
    return f"{shown} bot" + ("" if shown == "1.0" else "s")
