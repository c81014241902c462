"""The PostgreSQL work queue under real concurrency: several processes (each its own connections, as
several machines would be) claiming, reaping, adding and recording fires at the same moment, on one
throwaway database. Nothing is claimed, handed back or recorded twice.

The functions at the top run in child processes ('spawn'); each writes what it did to a JSON file.
Timeouts only stop a hung test; nothing here asserts on speed.
"""

from __future__ import annotations

import json
import multiprocessing
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path


from bastidor.queue import NewItem, PostgresWorkQueue
from bastidor.queue.fires import NewFire
from test_work_queue_processes import reports
from test_work_queue_processes import run_all as run_processes

SPAWN = multiprocessing.get_context("spawn")
Q = "orders"
T0 = datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)


def _claim_loop(url: str, worker: str, start, report: str) -> None:
    """Claim until the queue is empty; fail every 7th item once (application), then complete it."""
    claimed = []
    with PostgresWorkQueue(url) as queue:
        start.wait()
        while (item := queue.claim_item(Q, worker, 60)) is not None:
            claimed.append(item.id)
            if item.data["n"] % 7 == 0 and item.attempts == 1:
                queue.fail_item(item.id, worker, "portal hiccup", business=False, retry_in_s=0)
            else:
                queue.complete_item(item.id, worker, {"by": worker})
    Path(report).write_text(json.dumps(claimed))


def _reaper(url: str, start, report: str) -> None:
    """Reap at the same moment as every other reaper; report what this one handed back."""
    with PostgresWorkQueue(url) as queue:
        start.wait()
        result = queue.reap_expired(now=T0 + timedelta(minutes=5))
    Path(report).write_text(json.dumps({"items": result.items_requeued, "runs": result.runs_requeued}))


def _fire_recorder(url: str, fires: list[dict], start, report: str) -> None:
    """Record the same batch of fires as every other recorder, at the same moment (a scheduler taking over)."""
    batch = [NewFire(**{**fire, "fire_time": datetime.fromisoformat(fire["fire_time"])}) for fire in fires]
    with PostgresWorkQueue(url) as queue:
        start.wait()
        outcomes = queue.record_fires(batch, check_overlap=lambda policy, running, queued: (
            "an earlier fire is queued" if queued else None))
    Path(report).write_text(json.dumps([[outcome.fire.key, outcome.state] for outcome in outcomes]))


def _adder(url: str, references: list[str], start, report: str) -> None:
    """Add the same references as every other adder, at the same moment."""
    with PostgresWorkQueue(url) as queue:
        start.wait()
        added = queue.add_items(Q, [NewItem(reference) for reference in references]).added
    Path(report).write_text(json.dumps(added))


def _finisher(url: str, rounds: list[tuple[int, str]], start, report: str) -> None:
    """Round after round, end a run request at the same moment as the other finisher of its work-item queue."""
    with PostgresWorkQueue(url) as queue:
        for request_id, worker in rounds:
            start.wait()
            queue.finish_run(request_id, worker, "done")
    Path(report).write_text(json.dumps(len(rounds)))


def run_all(target, argument_lists: list[tuple]) -> None:
    """Start one spawned process per argument tuple and wait for each (see `run_processes`)."""
    run_processes([SPAWN.Process(target=target, args=arguments) for arguments in argument_lists])


def test_six_processes_claiming_at_once_take_each_of_600_items_exactly_once(pg_url, tmp_path):
    with PostgresWorkQueue(pg_url) as queue:
        queue.add_items(Q, [NewItem(f"ORD-{n:04d}", {"n": n}) for n in range(600)])
    start = SPAWN.Barrier(6)
    run_all(_claim_loop, [(pg_url, f"worker-{n}", start, str(tmp_path / f"claims-{n}.json")) for n in range(6)])
    claims = Counter(item_id for claimed in reports(tmp_path, "claims", 6) for item_id in claimed)
    with PostgresWorkQueue(pg_url) as queue:
        assert queue.counts(Q) == {"new": 0, "in_progress": 0, "successful": 600, "failed": 0}
        items = queue.items(Q)
        histories = {item.id: [event.to_state for event in queue.history(item.id)] for item in items}
    for item in items:
        retried = item.data["n"] % 7 == 0
        assert claims[item.id] == item.attempts == (2 if retried else 1), item.reference
        assert histories[item.id].count("in_progress") == item.attempts
        assert histories[item.id].count("successful") == 1
    assert sum(1 for claimed in reports(tmp_path, "claims", 6) if claimed) >= 2, "the claims were not concurrent"


def test_two_services_reaping_at_once_hand_each_expired_row_back_once(pg_url, tmp_path):
    with PostgresWorkQueue(pg_url) as queue:
        queue.add_items(Q, [NewItem(f"ORD-{n}") for n in range(60)], now=T0)
        items = [queue.claim_item(Q, f"dead-{n}", 30, now=T0).id for n in range(60)]
        runs = []
        for n in range(20):
            queue.enqueue_run(f"manual:{n}", "flows/demo.yaml", {}, requested_by="ana", now=T0)
            runs.append(queue.claim_run(f"dead-bot-{n}", 30, now=T0).id)
    start = SPAWN.Barrier(3)
    run_all(_reaper, [(pg_url, start, str(tmp_path / f"reap-{n}.json")) for n in range(3)])
    done = reports(tmp_path, "reap", 3)
    assert sorted(i for report in done for i in report["items"]) == sorted(items)
    assert sorted(r for report in done for r in report["runs"]) == sorted(runs)
    with PostgresWorkQueue(pg_url) as queue:
        for item_id in items:
            assert [event.to_state for event in queue.history(item_id)] == ["new", "in_progress", "abandoned", "new"]
        for request_id in runs:
            states = [event.to_state for event in queue.run_history(request_id)]
            assert states == ["queued", "running", "abandoned", "queued"]


def test_fires_recorded_by_two_processes_at_once_are_never_doubled(pg_url, tmp_path):
    fires = [{"key": f"s{n % 5}@{(T0 + timedelta(minutes=n)).isoformat()}", "flow_path": "flows/demo.yaml",
              "schedule_id": f"s{n % 5}", "fire_time": (T0 + timedelta(minutes=n)).isoformat(), "overlap": "skip"}
             for n in range(50)]
    with PostgresWorkQueue(pg_url):
        pass  # the tables exist before the recorders race
    start = SPAWN.Barrier(3)
    run_all(_fire_recorder, [(pg_url, fires, start, str(tmp_path / f"fires-{n}.json")) for n in range(3)])
    states_by_key: dict[str, list[str]] = {}
    for report in reports(tmp_path, "fires", 3):
        for key, state in report:
            states_by_key.setdefault(key, []).append(state)
    for fire in fires:
        states = states_by_key[fire["key"]]
        assert len(states) == 3 and states.count("duplicate") == 2, (fire["key"], states)
    with PostgresWorkQueue(pg_url) as queue:
        requests = queue.list_runs(limit=1000)
    assert sorted(request.key for request in requests) == sorted(fire["key"] for fire in fires)
    queued = Counter(request.schedule_id for request in requests if request.state == "queued")
    assert queued == {f"s{n}": 1 for n in range(5)}, "overlap: skip lets one queued fire per schedule through"


def test_a_reference_added_by_four_processes_at_once_is_accepted_once(pg_url, tmp_path):
    references = [f"ORD-{n}" for n in range(200)]
    with PostgresWorkQueue(pg_url):
        pass
    start = SPAWN.Barrier(4)
    run_all(_adder, [(pg_url, references[50 * n:] + references[:50 * n], start, str(tmp_path / f"add-{n}.json"))
                     for n in range(4)])
    accepted = Counter(reference for added in reports(tmp_path, "add", 4) for reference in added)
    assert accepted == Counter(references)
    with PostgresWorkQueue(pg_url) as queue:
        assert len(queue.items(Q)) == 200


def test_two_runs_of_one_queue_ending_at_once_leave_exactly_one_resume_request(pg_url, tmp_path):
    """Each finisher alone would see the other still running and leave the items to it; the queue's lock
    makes the second to commit see the first ended, so the waiting items get one resume request."""
    rounds: list[list[tuple[int, str]]] = [[], []]
    with PostgresWorkQueue(pg_url) as queue:
        for number in range(5):
            queue.add_items(f"orders-{number}", [NewItem("ORD-1")])
            for n in range(2):
                queue.enqueue_run(f"run:{number}:{n}", "flows/demo.yaml", {}, requested_by="ana")
                request = queue.claim_run(f"bot-{number}-{n}", 60)
                queue.bind_queue(request.id, f"bot-{number}-{n}", f"orders-{number}")
                rounds[n].append((request.id, f"bot-{number}-{n}"))
    start = SPAWN.Barrier(2)
    run_all(_finisher, [(pg_url, rounds[n], start, str(tmp_path / f"end-{n}.json")) for n in range(2)])
    with PostgresWorkQueue(pg_url) as queue:
        resumes = Counter(r.queue_name for r in queue.list_runs(limit=100) if r.key.startswith("resume:"))
    assert resumes == {f"orders-{number}": 1 for number in range(5)}
