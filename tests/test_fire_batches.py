"""Fires recorded in one batch give exactly the rows that recording them one at a time gives: the same keys,
states, reasons, history events and overlap decisions (a fire sees the fires queued before it in its batch).

Real SQLite work queues in tmp_path; the one-at-a-time reference is the way fires were recorded before
batching: `count_runs` for the overlap policy, then `enqueue_run`, one transaction per fire.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from bastidor.audit import AuditLog, SecretMasker
from bastidor.queue import open_work_queue
from bastidor.queue.fires import NewFire
from bastidor.schedule import load_schedules
from bastidor.schedule.backlog import COALESCED, MISSED, Fire
from bastidor.schedule.policy import overlap_refusal
from bastidor.service.pauses import open_schedule_pauses
from bastidor.service.scheduler import FireRecorder

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 1, 7, 9, 0, tzinfo=UTC)
NOW = T0 + dt.timedelta(seconds=3)


def fire(schedule_id: str, second: int, overlap: str | None, state: str = "queued", reason: str | None = None):
    moment = T0 + dt.timedelta(seconds=second)
    return NewFire(key=f"{schedule_id}@{moment:%H:%M:%S}", flow_path="/flows/tiny.yaml", schedule_id=schedule_id,
                   fire_time=moment, inputs={"day": "wednesday"}, state=state, reason=reason, overlap=overlap,
                   priority=3, timeout_s=600.0)


FIRES = [
    fire("busy", 1, "skip"),  # its run is running: skipped
    fire("free", 1, "skip"),  # nothing running or queued: queued
    fire("free", 2, "skip"),  # the fire just before queued one: skipped
    fire("waiting", 1, "queue_one"),  # one queued already: skipped
    fire("behind", 1, "queue_one"),  # one running, none queued: queued
    fire("behind", 2, "queue_one"),  # now one queued: skipped
    fire("any", 1, None),
    fire("any", 2, None),
    fire("free", 1, "skip"),  # the same key again: duplicate
    fire("taken", 0, None),  # a key recorded before the batch: duplicate
    fire("held", 1, "skip", "skipped", "paused by maria: month-end"),
    fire("late", 1, None, "missed", "missed by more than the misfire grace (30 s)"),
]


def prepared_queue(path: Path):
    """A queue where `busy` and `behind` have a running request, `waiting` a queued one, `taken` an old fire."""
    queue = open_work_queue(path)
    for key, schedule_id in (("busy@old", "busy"), ("behind@old", "behind")):
        queue.enqueue_run(key, "/flows/tiny.yaml", {}, requested_by="scheduler", schedule_id=schedule_id,
                          fire_time=T0, now=T0)
        assert queue.claim_run("bot-1", 60, now=T0).key == key
    queue.enqueue_run("waiting@old", "/flows/tiny.yaml", {}, requested_by="scheduler", schedule_id="waiting",
                      fire_time=T0, now=T0)
    queue.enqueue_run("taken@09:00:00", "/flows/tiny.yaml", {}, requested_by="scheduler", schedule_id="taken",
                      fire_time=T0, now=T0)
    return queue


def one_at_a_time(queue, new: NewFire) -> str:
    """How fires were recorded before batching: count, decide, enqueue, each in its own transaction."""
    state, reason = new.state, new.reason
    if state == "queued" and new.overlap is not None:
        running = queue.count_runs(new.schedule_id, ("running",))
        queued = queue.count_runs(new.schedule_id, ("queued",))
        reason = overlap_refusal(new.overlap, running, queued)
        state = "queued" if reason is None else "skipped"
    added = queue.enqueue_run(new.key, new.flow_path, new.inputs, requested_by=new.requested_by,
                              schedule_id=new.schedule_id, fire_time=new.fire_time, priority=new.priority,
                              timeout_s=new.timeout_s, state=state, reason=reason, now=NOW)
    return state if added else "duplicate"


def everything(queue) -> dict[str, tuple]:
    """Every run request (all its columns but the id) with its history, by key."""
    found = {}
    for run in queue.list_runs(limit=1000):
        row = {name: value for name, value in dataclasses.asdict(run).items() if name != "id"}
        history = [(e.at, e.from_state, e.to_state, e.attempt, e.worker, e.reason) for e in queue.run_history(run.id)]
        found[run.key] = (row, history)
    return found


def test_a_batch_of_fires_gives_the_same_rows_states_reasons_and_history_as_one_at_a_time(tmp_path):
    batched, reference = prepared_queue(tmp_path / "batched.db"), prepared_queue(tmp_path / "reference.db")
    outcomes = batched.record_fires(FIRES, check_overlap=overlap_refusal, now=NOW)
    expected = [one_at_a_time(reference, new) for new in FIRES]
    assert [outcome.state for outcome in outcomes] == expected
    assert expected == ["skipped", "queued", "skipped", "skipped", "queued", "skipped", "queued", "queued",
                        "duplicate", "duplicate", "skipped", "missed"]
    assert everything(batched) == everything(reference)


def test_an_overlap_refusal_says_how_many_runs_it_saw_including_earlier_fires_of_the_batch(tmp_path):
    queue = prepared_queue(tmp_path / "queue.db")
    outcomes = queue.record_fires(FIRES[:6], check_overlap=overlap_refusal, now=NOW)
    assert [outcome.reason for outcome in outcomes] == [
        "overlap policy skip: 1 running, 0 queued", None, "overlap policy skip: 0 running, 1 queued",
        "overlap policy queue_one: 0 running, 1 queued", None, "overlap policy queue_one: 1 running, 1 queued"]


def test_an_empty_batch_records_nothing_and_a_wrong_value_is_refused_before_anything_is_stored(tmp_path):
    queue = open_work_queue(tmp_path / "queue.db")
    assert queue.record_fires([], check_overlap=overlap_refusal, now=NOW) == []
    naive = dataclasses.replace(FIRES[1], fire_time=dt.datetime(2026, 1, 7, 9, 0))
    with pytest.raises(ValueError, match="fire_time .* has no time zone"):
        queue.record_fires([FIRES[0], naive], check_overlap=overlap_refusal, now=NOW)
    assert queue.list_runs() == []


@pytest.fixture
def recorder(tmp_path: Path):
    """A fire recorder over a real queue, audit log and pause store, with two schedules `job` and `other`."""
    (tmp_path / "tiny.yaml").write_text("name: Tiny\nsteps:\n  - log: hello\n", encoding="utf-8")
    (tmp_path / "schedules.yaml").write_text(
        "schedules:\n"
        "  - {id: job, flow: tiny.yaml, trigger: {cron: '*/5 * * * *'}, misfire_grace: 6m, overlap: skip}\n"
        "  - {id: other, flow: tiny.yaml, trigger: {cron: '*/5 * * * *'}, overlap: allow}\n", encoding="utf-8")
    queues = []

    def make(name: str) -> FireRecorder:
        queue = open_work_queue(tmp_path / f"{name}.db")
        queues.append(queue)
        audit = AuditLog.open(tmp_path / f"{name}.jsonl", run_id=name, flow="service", flow_sha256="0" * 64,
                              masker=SecretMasker())
        open_schedule_pauses(tmp_path / f"{name}.db").pause("other", "maria", now=T0)
        return FireRecorder(queue, audit, lambda: NOW)

    yield make, load_schedules(tmp_path / "schedules.yaml").by_id
    for queue in queues:
        queue.close()


def test_the_recorder_records_a_batch_like_its_one_fire_calls_with_pauses_misses_and_coalesced_fires(recorder):
    make, schedules = recorder
    job, other = schedules["job"], schedules["other"]
    minute = dt.timedelta(minutes=5)
    fires = [Fire(job, T0 - 2 * minute, MISSED), Fire(job, T0 - minute, COALESCED, T0), Fire(job, T0),
             Fire(job, T0 + minute), Fire(other, T0), Fire(job, T0)]
    batched, reference = make("batched"), make("reference")
    states = batched.record(fires)
    calls = [reference.missed(job, T0 - 2 * minute), reference.coalesced(job, T0 - minute, T0),
             reference.fire(job, T0), reference.fire(job, T0 + minute), reference.fire(other, T0),
             reference.fire(job, T0)]
    assert states == calls == ["missed", "skipped", "queued", "skipped", "skipped", "duplicate"]
    assert everything(batched.queue) == everything(reference.queue)


def test_a_batch_is_audited_in_one_record_listing_each_fire_by_outcome(recorder, tmp_path):
    import json

    make, schedules = recorder
    job = schedules["job"]
    make("batched").record([Fire(job, T0), Fire(job, T0 + dt.timedelta(minutes=5)), Fire(schedules["other"], T0)])
    records = [json.loads(line) for line in (tmp_path / "batched.jsonl").read_text().splitlines()]
    [batch] = [record for record in records if record["event"] == "schedule.fires"]
    assert batch["count"] == 3 and batch["queued"] == ["job@2026-01-07T09:00:00Z"]
    assert batch["skipped"] == {"overlap policy skip: 0 running, 1 queued": ["job@2026-01-07T09:05:00Z"],
                                "paused by maria": ["other@2026-01-07T09:00:00Z"]}
