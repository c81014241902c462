"""What the service reports is what happened: a drained run is interrupted and its request goes back to the
queue for the next `serve`; a request that crashed with items left has them resumed by a fresh request; a
killed service takes its bots with it; a plain loop is never turned into work items. Real processes,
real SQLite files, real signals."""

from __future__ import annotations

import os
import signal

from service_support import (children_of, output, processes_running, queue_of, runner, runs_of, serve, started,
                             stop, store_items, trigger, wait_until, worker_pid, write_items, write_schedules)

QUEUE = "Slow items"


def bots_of(folder) -> list[int]:
    """Live worker processes of the folder's home, whichever service started them."""
    return processes_running("bastidor.service.worker", str(folder / "home"))


def counts(folder):
    with queue_of(folder) as queue:
        return queue.counts(QUEUE)


def test_sigterm_drain_ends_the_run_interrupted_and_the_next_serve_finishes_the_rest(tmp_path):
    write_items(tmp_path, 60, wait="200ms")
    write_schedules(tmp_path, enabled=False)
    service = serve(tmp_path, "--workers", "1")
    assert wait_until(lambda: started(service), timeout=90)
    trigger(tmp_path)
    assert wait_until(lambda: counts(tmp_path)["successful"] >= 15, timeout=120), output(service)
    stop(service, timeout=120)
    (drained,) = runs_of(tmp_path)
    done_first = counts(tmp_path)["successful"]
    assert drained.status == "interrupted", drained
    assert drained.items_succeeded == done_first < 60 and "items were left in the queue" in drained.error
    with queue_of(tmp_path) as queue:
        (request,) = queue.list_runs()
    assert request.state == "queued", "the drained run's request went back to the queue"
    assert "interrupted" in runner(tmp_path, "runs", "list").stdout
    again = serve(tmp_path, "--workers", "1")
    assert wait_until(lambda: counts(tmp_path)["successful"] == 60, timeout=180), output(again)
    stop(again)
    runs = runs_of(tmp_path)
    assert [run.status for run in runs] == ["succeeded", "interrupted"]
    assert sum(run.items_succeeded for run in runs) == 60, "each item counted once, in the run that did it"
    with queue_of(tmp_path) as queue:
        assert all([e.to_state for e in queue.history(item.id)].count("successful") == 1 for item in queue.items(QUEUE))


def test_a_request_crashed_by_dying_bots_has_its_items_resumed_by_a_fresh_request(tmp_path):
    write_items(tmp_path, 10, wait="500ms")
    write_schedules(tmp_path, enabled=False)
    service = serve(tmp_path, "--workers", "1", "--lease", "2")
    assert wait_until(lambda: started(service), timeout=90)
    trigger(tmp_path)
    killed: set[int] = set()
    for done in (2, 4, 6):  # the request's three attempts each lose their bot mid-item, after some work
        assert wait_until(lambda: counts(tmp_path)["successful"] >= done and
                          _busy_worker(tmp_path) not in (None, *killed), timeout=120), output(service)
        pid = _busy_worker(tmp_path)
        os.kill(pid, signal.SIGKILL)
        killed.add(pid)
    assert wait_until(lambda: counts(tmp_path)["successful"] == 10, timeout=240), output(service)
    stop(service)
    with queue_of(tmp_path) as queue:
        requests = {request.key: request for request in queue.list_runs()}
        histories = [queue.history(item.id) for item in queue.items(QUEUE)]
    crashed = [r for r in requests.values() if r.state == "crashed"]
    assert len(crashed) == 1 and f"resume:{crashed[0].id}" in requests, requests
    assert requests[f"resume:{crashed[0].id}"].state == "done"
    assert sum(e.to_state == "abandoned" for h in histories for e in h) == 3, "each kill is in an item's history"
    for run in runs_of(tmp_path):
        items = store_items(tmp_path, run.run_id)
        assert run.items_succeeded == sum(i.status == "successful" for i in items), "counts match the items"
        assert run.items_total == len(items)
    assert sum(run.items_succeeded for run in runs_of(tmp_path)) == 10
    assert [run.status for run in runs_of(tmp_path)].count("crashed") == 3


def _busy_worker(folder):
    """The pid of the worker holding an item, or None."""
    with queue_of(folder) as queue:
        busy = queue.items(QUEUE, state="in_progress")
    return worker_pid(busy[0].lease_owner) if busy else None


def test_killing_the_service_takes_its_bots_with_it_and_a_new_serve_runs_only_its_own(tmp_path):
    write_items(tmp_path, 6, wait="2s")
    write_schedules(tmp_path, enabled=False)
    first = serve(tmp_path, "--workers", "2")
    assert wait_until(lambda: started(first) and len(children_of(first.pid)) == 2, timeout=90)
    trigger(tmp_path)
    assert wait_until(lambda: counts(tmp_path)["in_progress"] >= 1, timeout=90)
    first.kill()
    first.wait()
    assert wait_until(lambda: not bots_of(tmp_path), timeout=60), "the dead service's bots finished and exited"
    second = serve(tmp_path, "--workers", "2", "--drain-timeout", "5")
    assert wait_until(lambda: started(second), timeout=90)
    assert wait_until(lambda: len(children_of(second.pid)) == 2, timeout=60)
    assert set(bots_of(tmp_path)) == set(children_of(second.pid)), "only the new service's two bots run"
    assert wait_until(lambda: counts(tmp_path)["successful"] == 6, timeout=180), output(second)
    stop(second)
    assert "running" not in {run.status for run in runs_of(tmp_path)}


def test_a_bot_still_busy_after_its_service_died_is_stopped_before_a_new_serve_starts_its_own(tmp_path):
    write_items(tmp_path, 2, wait="60s")
    write_schedules(tmp_path, enabled=False)
    first = serve(tmp_path, "--workers", "1")
    assert wait_until(lambda: started(first), timeout=90)
    trigger(tmp_path)
    assert wait_until(lambda: counts(tmp_path)["in_progress"] == 1, timeout=90)
    stray = _busy_worker(tmp_path)
    first.kill()
    first.wait()
    second = serve(tmp_path, "--workers", "1", "--drain-timeout", "2")
    assert wait_until(lambda: started(second), timeout=90), output(second)
    assert stray not in bots_of(tmp_path), "the stray bot was stopped"
    assert "bot(s) of a service that died" in output(second)
    with queue_of(tmp_path) as queue:
        (item,) = [i for i in queue.items(QUEUE) if i.attempts >= 1 and i.reference == "R00001"]
        assert "abandoned" in [event.to_state for event in queue.history(item.id)]
    stop(second, timeout=120)


SUM_FLOW = """
name: Sum the table
steps:
  - read_csv: {path: amounts.csv, into: rows}
  - set: {total: 0}
  - for_each: "{{ rows }}"
    steps:
      - set: {total: "{{ total + decimal(row.amount) }}"}
  - log: "total {{ total }}"
"""


def test_a_plain_loop_sums_the_same_table_the_same_way_on_every_scheduled_run(tmp_path):
    (tmp_path / "amounts.csv").write_text("amount\n1.50\n2.25\n3\n4.25\n")
    (tmp_path / "sum.yaml").write_text(SUM_FLOW)
    (tmp_path / "schedules.yaml").write_text("schedules: []\n")
    service = serve(tmp_path, "--workers", "1")
    assert wait_until(lambda: started(service), timeout=90)
    trigger(tmp_path, "sum.yaml")
    assert wait_until(lambda: [r.status for r in runs_of(tmp_path)] == ["succeeded"], timeout=90)
    trigger(tmp_path, "sum.yaml")
    assert wait_until(lambda: [r.status for r in runs_of(tmp_path)] == ["succeeded"] * 2, timeout=90)
    stop(service)
    totals = [(tmp_path / "home" / "runs" / run.run_id / "audit.jsonl").read_text().count('"total 11.00"')
              for run in runs_of(tmp_path)]
    assert totals == [1, 1], "both runs add up all four rows"
    with queue_of(tmp_path) as queue:
        assert queue.counts("Sum the table") == {state: 0 for state in queue.counts("Sum the table")}
    assert all(run.items_total == 0 for run in runs_of(tmp_path)), "a plain loop makes no items"
