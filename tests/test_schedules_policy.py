"""The scheduler's decisions: which missed fire times run after a restart, whether an overlapping
fire is enqueued, and the run key that makes a fire time run at most once."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bastidor.schedule import (MissedDecision, OverlapPolicy, Schedule, decide_missed, decide_overlap, fire_key,
                               load_schedules)

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 1, 7, 9, 30, tzinfo=UTC)


@pytest.fixture
def job(tmp_path: Path) -> Schedule:
    """A five-minute schedule with a five-minute misfire grace, loaded from a real file."""
    (tmp_path / "tiny.yaml").write_text("name: Tiny\nsteps:\n  - log: hello\n", encoding="utf-8")
    (tmp_path / "schedules.yaml").write_text(
        "schedules:\n  - id: job\n    flow: tiny.yaml\n    trigger: {cron: '*/5 * * * *'}\n"
        "    misfire_grace: 5m\n", encoding="utf-8")
    return load_schedules(tmp_path / "schedules.yaml").by_id["job"]


def ago(minutes: float) -> dt.datetime:
    return NOW - dt.timedelta(minutes=minutes)


def test_nothing_due_means_nothing_runs_and_nothing_is_missed(job):
    assert decide_missed(job, [], NOW) == MissedDecision(run=None, missed=[], coalesced=[])


def test_a_fire_time_due_exactly_now_runs(job):
    assert decide_missed(job, [NOW], NOW) == MissedDecision(run=NOW)


def test_a_fire_time_late_by_exactly_the_grace_still_runs(job):
    assert decide_missed(job, [ago(5)], NOW).run == ago(5)


def test_a_fire_time_late_by_a_moment_more_than_the_grace_is_missed(job):
    late = ago(5) - dt.timedelta(microseconds=1)
    assert decide_missed(job, [late], NOW) == MissedDecision(run=None, missed=[late])


def test_several_due_within_the_grace_run_once_at_the_latest_and_the_rest_are_coalesced(job):
    decision = decide_missed(job, [ago(1), ago(4), ago(2.5)], NOW)
    assert decision == MissedDecision(run=ago(1), missed=[], coalesced=[ago(4), ago(2.5)])


def test_older_fire_times_are_missed_even_when_a_recent_one_runs(job):
    decision = decide_missed(job, [ago(20), ago(3), ago(15), ago(10)], NOW)
    assert decision == MissedDecision(run=ago(3), missed=[ago(20), ago(15), ago(10)], coalesced=[])


def test_every_fire_time_older_than_the_grace_is_missed_and_none_runs(job):
    decision = decide_missed(job, [ago(60), ago(30)], NOW)
    assert decision == MissedDecision(run=None, missed=[ago(60), ago(30)], coalesced=[])


def test_fire_times_after_now_are_not_due_and_duplicates_count_once(job):
    soon = NOW + dt.timedelta(minutes=5)
    decision = decide_missed(job, [soon, ago(1), ago(1).astimezone(ZoneInfo("Europe/Lisbon"))], NOW)
    assert decision == MissedDecision(run=ago(1))


def test_a_zero_grace_runs_only_a_fire_time_due_exactly_now(job):
    strict = dataclasses.replace(job, misfire_grace_s=0.0)
    assert decide_missed(strict, [ago(0.01), NOW], NOW) == MissedDecision(run=NOW, missed=[ago(0.01)])


def test_naive_times_are_refused_by_the_missed_rule(job):
    with pytest.raises(ValueError, match="timezone-aware"):
        decide_missed(job, [dt.datetime(2026, 1, 7, 9, 25)], NOW)


@pytest.mark.parametrize(("policy", "running", "queued", "enqueue"), [
    ("skip", 0, 0, True), ("skip", 1, 0, False), ("skip", 0, 1, False), ("skip", 2, 3, False),
    ("queue_one", 0, 0, True), ("queue_one", 1, 0, True), ("queue_one", 0, 1, False), ("queue_one", 1, 1, False),
    ("allow", 0, 0, True), ("allow", 1, 0, True), ("allow", 0, 1, True), ("allow", 5, 5, True),
])
def test_overlap_policy_decides_whether_a_fire_is_enqueued(policy, running, queued, enqueue):
    assert decide_overlap(policy, running, queued) is enqueue
    assert decide_overlap(OverlapPolicy(policy), running=running, queued=queued) is enqueue


def test_an_unknown_overlap_policy_is_an_error_not_a_guess():
    with pytest.raises(ValueError):
        decide_overlap("sometimes", 0, 0)


def test_fire_key_names_the_schedule_and_the_utc_second():
    moment = dt.datetime(2026, 3, 29, 2, 30, 15, 999_999, tzinfo=ZoneInfo("Europe/Lisbon"))
    assert fire_key("demo-order-entry", moment) == "demo-order-entry@2026-03-29T01:30:15Z"


def test_fire_key_is_the_same_for_the_same_instant_in_any_time_zone():
    instant = dt.datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
    keys = {fire_key("job", instant.astimezone(ZoneInfo(zone)))
            for zone in ("UTC", "Europe/Lisbon", "America/New_York", "Asia/Kolkata")}
    assert keys == {"job@2026-07-01T08:00:00Z"}
    assert fire_key("job", instant + dt.timedelta(seconds=1)) != fire_key("job", instant)


def test_fire_key_refuses_a_naive_time():
    with pytest.raises(ValueError, match="timezone-aware"):
        fire_key("job", dt.datetime(2026, 7, 1, 8, 0))
