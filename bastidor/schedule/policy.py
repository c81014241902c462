"""Decisions the scheduler makes at a fire time: run keys, missed fire times, overlapping runs.

Everything here is pure: the caller passes `now` and the counts it sees, so the rules can be
tested at their edges without a clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from bastidor.schedule.triggers import UTC, require_aware

if TYPE_CHECKING:
    from bastidor.schedule.model import Schedule


class OverlapPolicy(StrEnum):
    """What to do when a schedule fires while an earlier run of it is still running or queued."""

    skip = "skip"
    queue_one = "queue_one"
    allow = "allow"


def decide_overlap(policy: OverlapPolicy | str, running: int, queued: int) -> bool:
    """True when a new run should be enqueued, given how many runs of the same schedule are
    `running` and `queued`: skip -> only when none is running or queued; queue_one -> when none
    is queued (one may wait behind the running one); allow -> always."""
    policy = OverlapPolicy(policy)
    if policy is OverlapPolicy.skip:
        return running == 0 and queued == 0
    if policy is OverlapPolicy.queue_one:
        return queued == 0
    return True


def overlap_refusal(policy: OverlapPolicy | str, running: int, queued: int) -> str | None:
    """Why `decide_overlap` refuses a new run, as the queue's history says it, e.g. "overlap policy
    skip: 1 running, 0 queued"; None when a run may be enqueued."""
    if decide_overlap(policy, running=running, queued=queued):
        return None
    return f"overlap policy {OverlapPolicy(policy).value}: {running} running, {queued} queued"


def fire_key(schedule_id: str, fire_time: dt.datetime) -> str:
    """The run key for one fire time, e.g. "demo@2026-03-27T09:05:00Z": the same instant gives the
    same key in any time zone; fractions of a second are dropped (not rounded)."""
    moment = require_aware(fire_time, "fire_time").astimezone(UTC)
    return f"{schedule_id}@{moment.strftime('%Y-%m-%dT%H:%M:%S')}Z"


@dataclass(frozen=True)
class MissedDecision:
    """The outcome of `decide_missed`: at most one fire time to `run`, the due times folded into it
    (`coalesced`), and the ones too old to run (`missed`). All lists are in time order."""

    run: dt.datetime | None
    missed: list[dt.datetime] = field(default_factory=list)
    coalesced: list[dt.datetime] = field(default_factory=list)


def decide_missed(schedule: "Schedule", due: list[dt.datetime], now: dt.datetime) -> MissedDecision:
    """Decide what to do with fire times that were due but never enqueued (e.g. after a restart).

    The rule, with grace = `schedule.misfire_grace_s`:
    - a due time `t` is late by `now - t`; times after `now` are not due and are ignored;
    - times late by at most the grace (the boundary included) are runnable; the most recent
      runnable time is `run` and the other runnable times are `coalesced` into that one run;
    - times late by more than the grace are `missed` (recorded, never run), even when a more
      recent time runs;
    - duplicates count once; with no runnable time, `run` is None.
    """
    require_aware(now, "now")
    grace = dt.timedelta(seconds=schedule.misfire_grace_s)
    every_time = {require_aware(t, "due time").astimezone(UTC) for t in due}
    times = sorted(t for t in every_time if t <= now)
    runnable = [t for t in times if now - t <= grace]
    missed = [t for t in times if now - t > grace]
    if not runnable:
        return MissedDecision(None, missed, [])
    return MissedDecision(runnable[-1], missed, runnable[:-1])
