"""Run request contract: one run per key, claim order, leases, release, missed and skipped fires.

Every test that takes `queue` runs on SQLite and on PostgreSQL (`tests/queue_backends.py`); the last ones
are about opening a backend and say which.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bastidor.queue import LeaseLost, PostgresWorkQueue, QueueError, SqliteWorkQueue, open_work_queue
from queue_backends import queue, queue_database, queue_location  # noqa: F401  (fixtures: SQLite and PostgreSQL)

T0 = datetime(2026, 11, 27, 10, 5, tzinfo=timezone.utc)
FLOW = "flows/order_entry.yaml"


def at(seconds: float) -> datetime:
    """The driven clock: `seconds` after T0."""
    return T0 + timedelta(seconds=seconds)


def fire(queue, schedule: str, minutes: int, **fields) -> bool:
    fire_time = T0 + timedelta(minutes=minutes)
    return queue.enqueue_run(f"{schedule}@{fire_time.isoformat()}", FLOW, {"limit": 5}, schedule_id=schedule,
                             fire_time=fire_time, requested_by="scheduler", **{"now": fire_time, **fields})


def test_a_key_enqueued_twice_gives_one_run(queue):
    assert fire(queue, "demo", 0)
    assert not fire(queue, "demo", 0, priority=9)
    assert not queue.enqueue_run("demo@" + T0.isoformat(), "flows/other.yaml", {}, requested_by="ana", now=T0)
    [request] = queue.list_runs()
    assert (request.key, request.priority, request.flow_path) == (f"demo@{T0.isoformat()}", 0, FLOW)
    assert [(e.from_state, e.to_state) for e in queue.run_history(request.id)] == [(None, "queued")]


def test_runs_are_claimed_by_priority_then_oldest_and_not_before_their_time(queue):
    queue.enqueue_run("manual:1", FLOW, {}, requested_by="ana", now=at(0))
    queue.enqueue_run("manual:2", FLOW, {}, requested_by="ana", priority=3, now=at(1))
    queue.enqueue_run("manual:3", FLOW, {}, requested_by="ana", priority=3, not_before=at(60), now=at(2))
    queue.enqueue_run("manual:4", FLOW, {}, requested_by="ana", now=at(3))
    claimed = [queue.claim_run("w", 60, now=at(10)).key for _ in range(3)]
    assert claimed == ["manual:2", "manual:1", "manual:4"]
    assert queue.claim_run("w", 60, now=at(59)) is None
    assert queue.claim_run("w", 60, now=at(60)).key == "manual:3"


def test_finished_run_records_its_run_id_outcome_and_history(queue):
    fire(queue, "demo", 0, timeout_s=900)
    request = queue.claim_run("bot-1", 60, now=at(1))
    assert (request.state, request.attempts, request.started_at, request.timeout_s) == ("running", 1, at(1), 900)
    finished = queue.finish_run(request.id, "bot-1", "failed", run_id="r-42", error="step 3 failed", now=at(9))
    assert (finished.state, finished.run_id, finished.error, finished.finished_at) == ("failed", "r-42",
                                                                                      "step 3 failed", at(9))
    assert [(e.from_state, e.to_state, e.attempt, e.worker) for e in queue.run_history(request.id)] == [
        (None, "queued", 0, None), ("queued", "running", 1, "bot-1"), ("running", "failed", 1, "bot-1")]


def test_missed_and_skipped_fires_are_recorded_and_never_run(queue):
    assert fire(queue, "demo", 0, state="missed", reason="scheduler was down")
    assert fire(queue, "demo", 5, state="skipped", reason="overlap policy skip")
    assert not fire(queue, "demo", 0)
    assert queue.claim_run("w", 60, now=at(3600)) is None
    assert {r.state: r.error for r in queue.list_runs()} == {"missed": "scheduler was down",
                                                             "skipped": "overlap policy skip"}
    assert queue.last_fire_time("demo") == T0 + timedelta(minutes=5)
    assert queue.last_fire_time("never-fired") is None


def test_count_runs_serves_overlap_policies(queue):
    fire(queue, "demo", 0)
    fire(queue, "demo", 5)
    fire(queue, "other", 5)
    queue.claim_run("w", 60, now=at(600))
    assert queue.count_runs("demo", ["running"]) == 1
    assert queue.count_runs("demo", ("queued", "running")) == 2
    assert queue.count_runs("other", ["running"]) == 0


def test_runs_are_listed_newest_first_and_filtered(queue):
    for minutes in (0, 5, 10):
        fire(queue, "demo", minutes)
    fire(queue, "other", 7)
    assert [r.fire_time.minute for r in queue.list_runs(schedule_id="demo")] == [15, 10, 5]
    assert [r.schedule_id for r in queue.list_runs(states=["queued"], limit=2)] == ["demo", "other"]


def test_expired_run_lease_is_abandoned_then_requeued_with_the_attempt_counted(queue):
    fire(queue, "demo", 0)
    request = queue.claim_run("w1", 30, now=at(0))
    assert queue.reap_expired(now=at(31)).runs_requeued == [request.id]
    again = queue.claim_run("w2", 30, now=at(32))
    assert (again.id, again.attempts) == (request.id, 2)
    states = [(e.from_state, e.to_state, e.attempt) for e in queue.run_history(request.id)]
    assert states[2:4] == [("running", "abandoned", 1), ("abandoned", "queued", 1)]
    with pytest.raises(LeaseLost, match=r"w1 no longer holds the lease on run request \d+ \(demo@"):
        queue.finish_run(request.id, "w1", "done", now=at(33))
    assert not queue.heartbeat_run(request.id, "w1", 30, now=at(33))


def test_a_reaped_request_names_the_dead_workers_run_and_not_the_run_of_the_worker_that_took_it_next(queue):
    fire(queue, "demo", 0)
    request = queue.claim_run("w1", 30, now=at(0))
    queue.attach_run(request.id, "w1", "run-of-w1")
    reaped = queue.reap_expired(now=at(31))
    assert reaped.orphaned_runs == ["run-of-w1"]
    again = queue.claim_run("w2", 30, now=at(32))
    assert again.run_id is None, "until w2 starts its run, the request names no run"
    assert queue.reap_expired(now=at(63)).orphaned_runs == [], "w2 died before starting a run: none to end"
    third = queue.claim_run("w3", 30, now=at(64))
    queue.attach_run(third.id, "w3", "run-of-w3")
    assert queue.abandon_leases(["w3"], now=at(65)).orphaned_runs == ["run-of-w3"]


def test_runs_of_stopped_workers_are_handed_back_at_once(queue):
    fire(queue, "demo", 0)
    fire(queue, "demo", 5, max_attempts=1)
    first = queue.claim_run("killed", 600, now=at(600))
    last_try = queue.claim_run("killed", 600, now=at(600))
    result = queue.abandon_leases(["killed"], now=at(601))
    assert (result.runs_requeued, result.runs_crashed) == ([first.id], [last_try.id])
    assert queue.run_history(first.id)[2].reason.startswith("its worker was stopped")
    assert queue.get_run(last_try.id).state == "crashed"
    assert queue.abandon_leases([]).total == 0


def test_run_abandoned_on_its_last_attempt_ends_crashed(queue):
    fire(queue, "demo", 0, max_attempts=2)
    queue.claim_run("w", 30, now=at(100))
    queue.reap_expired(now=at(200))
    queue.claim_run("w", 30, now=at(200))
    result = queue.reap_expired(now=at(300))
    [request] = queue.list_runs()
    assert result.runs_crashed == [request.id]
    assert request.state == "crashed" and "last attempt (2 of 2)" in request.error


def test_heartbeat_keeps_a_run_leased(queue):
    fire(queue, "demo", 0)
    request = queue.claim_run("w", 30, now=at(0))
    assert queue.heartbeat_run(request.id, "w", 30, now=at(25))
    assert queue.reap_expired(now=at(50)).total == 0
    assert queue.finish_run(request.id, "w", "done", now=at(51)).state == "done"


def test_a_finish_repeated_with_the_same_time_is_recognised_and_resumes_nothing_twice(queue):
    fire(queue, "demo", 0)
    request = queue.claim_run("w", 60, now=at(0))
    queue.finish_run(request.id, "w", "done", run_id="r-1", now=at(5))
    again = queue.finish_run(request.id, "w", "done", run_id="r-1", now=at(5))
    assert (again.state, again.run_id) == ("done", "r-1")
    assert [e.to_state for e in queue.run_history(request.id)] == ["queued", "running", "done"]
    with pytest.raises(LeaseLost):
        queue.finish_run(request.id, "w", "failed", now=at(5))


def test_released_run_is_queued_again_without_counting_the_attempt(queue):
    fire(queue, "demo", 0)
    request = queue.claim_run("w", 30, now=at(0))
    released = queue.release_run(request.id, "w", now=at(1))
    assert (released.state, released.attempts, released.lease_owner) == ("queued", 0, None)
    assert queue.claim_run("w2", 30, now=at(2)).attempts == 1


def test_bad_states_are_refused_with_a_clear_message(queue):
    with pytest.raises(ValueError, match="state must be one of queued, missed, skipped; got 'running'"):
        fire(queue, "demo", 0, state="running")
    fire(queue, "demo", 0)
    request = queue.claim_run("w", 30, now=at(0))
    with pytest.raises(ValueError, match="state must be one of done, failed, crashed"):
        queue.finish_run(request.id, "w", "succeeded")


def test_queue_opens_from_a_sqlite_url_and_refuses_other_backends_clearly(tmp_path):
    with open_work_queue(f"sqlite:///{tmp_path / 'q.db'}") as opened:
        assert isinstance(opened, SqliteWorkQueue) and opened.path == tmp_path / "q.db"
    with pytest.raises(QueueError, match="cannot use 'mysql'.*runs/queue.db.*postgresql"):
        open_work_queue("mysql://db/bastidor")


def test_queue_opens_on_postgresql_from_any_spelling_of_its_url(pg_url):
    plain = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with open_work_queue(plain) as opened:
        assert isinstance(opened, PostgresWorkQueue) and opened.url == pg_url
        assert fire(opened, "demo", 0)


def test_sqlite_queue_uses_wal_and_creates_parent_folders(tmp_path):
    """SQLite only: WAL and the file's folders are SQLite matters."""
    with SqliteWorkQueue(tmp_path / "deep" / "er" / "q.db") as opened:
        with opened.database.reading() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert (tmp_path / "deep" / "er" / "q.db").exists()
