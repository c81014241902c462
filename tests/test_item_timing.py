"""Flows put items off and give them deadlines: `postpone_item` and the for_each `deadline` key, in a run
started by hand and through the work queue (the service's binding, in this process)."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

from bastidor.queue import open_work_queue
from bastidor.service.worker import ServiceBinding

POSTPONING = """
name: Ship when ready
steps:
  - read_csv: {path: orders.csv, into: orders}
  - for_each_item: "{{ orders }}"
    as: order
    item_ref: "{{ order.ref }}"
    steps:
      - if: "{{ order.ready == 'no' }}"
        then:
          - postpone_item: {for: 2h, reason: "{{ 'goods for ' + order.ref + ' not in yet' }}"}
      - log: "{{ 'shipped ' + order.ref }}"
"""

DEADLINES = """
name: Due orders
steps:
  - read_csv: {path: orders.csv, into: orders}
  - for_each_item: "{{ orders }}"
    as: order
    item_ref: "{{ order.ref }}"
    deadline: "{{ order.due }}"
    steps:
      - log: "{{ 'handled ' + order.ref }}"
"""


def write(folder: Path, flow: str, csv: str) -> Path:
    (folder / "orders.csv").write_text(csv)
    path = folder / "flow.yaml"
    path.write_text(flow)
    return path


def test_the_progress_lines_say_postponed_not_failed(tmp_path, run_flow_file):
    import io

    from bastidor.executor.progress import ConsoleProgress

    shown = io.StringIO()
    run_flow_file(write(tmp_path, POSTPONING, "ref,ready\nA,yes\nB,no\n"), progress=ConsoleProgress(shown))
    assert "item 2 B postponed: postponed until" in shown.getvalue() and "failed" not in shown.getvalue()


def test_a_postponed_item_is_neither_a_success_nor_a_failure_in_a_run_started_by_hand(tmp_path, run_flow_file):
    run = run_flow_file(write(tmp_path, POSTPONING, "ref,ready\nA,yes\nB,no\n"))
    assert (run.result.status, run.result.items_succeeded, run.result.items_failed) == ("succeeded", 1, 0)
    assert run.result.items_postponed == 1
    postponed = run.items()["B"]
    assert postponed.status == "postponed" and "goods for B not in yet" in postponed.reason
    assert [s.status for s in run.steps() if s.action == "postpone_item"] == ["postponed"]


def test_an_item_past_its_deadline_fails_without_running_its_steps(tmp_path, run_flow_file):
    run = run_flow_file(write(tmp_path, DEADLINES, "ref,due\nLATE,2020-01-01\nSOON,2999-12-31\n"))
    items = run.items()
    assert (items["LATE"].status, items["LATE"].reason, items["LATE"].exception) == \
        ("failed", "deadline passed", "application")
    assert items["SOON"].status == "successful"
    assert [s.item_ref for s in run.steps() if s.action == "log"] == ["SOON"]


def in_service(tmp_path: Path, run_flow_file, flow: Path):
    """Run `flow` as the service would, sharing a work queue in tmp_path; returns the queue."""
    queue = open_work_queue(tmp_path / "queue.db")
    binding = ServiceBinding(queue=queue, worker_id="bot-test-1-x", item_lease_s=30, stop_event=threading.Event())
    run_flow_file(flow, service=binding)
    return queue


def test_under_the_service_a_postponed_item_waits_in_the_queue_until_its_time(tmp_path, run_flow_file):
    queue = in_service(tmp_path, run_flow_file, write(tmp_path, POSTPONING, "ref,ready\nA,yes\nB,no\n"))
    item = {i.reference: i for i in queue.items("Ship when ready")}["B"]
    assert (item.state, item.attempts) == ("new", 0), "the postponement does not use up an attempt"
    wait = item.defer_until - dt.datetime.now(dt.timezone.utc)
    assert dt.timedelta(hours=1, minutes=59) < wait <= dt.timedelta(hours=2)
    assert "postponed until" in queue.history(item.id)[-1].reason
    assert queue.claim_item("Ship when ready", "other", 30) is None, "nobody takes it before its time"


def test_under_the_service_each_item_carries_its_deadline_into_the_queue(tmp_path, run_flow_file):
    queue = in_service(tmp_path, run_flow_file, write(tmp_path, DEADLINES, "ref,due\nLATE,2020-01-01\n"
                                                                          "SOON,2999-12-31\n"))
    items = {i.reference: i for i in queue.items("Due orders")}
    assert items["SOON"].deadline == dt.datetime(3000, 1, 1, tzinfo=dt.timezone.utc), "due by the end of the day"
    assert (items["SOON"].state, items["LATE"].state, items["LATE"].reason) == \
        ("successful", "failed", "deadline passed")


STOP_ON_ERROR = """
name: Ship or stop
steps:
  - read_csv: {path: orders.csv, into: orders}
  - for_each_item: "{{ orders }}"
    as: order
    item_ref: "{{ order.ref }}"
    on_error: stop
    steps:
      - if: "{{ order.ready == 'no' }}"
        then:
          - postpone_item: {for: 2h, reason: goods not in yet}
        retry: {attempts: 3, wait: 1s}
      - log: "{{ 'shipped ' + order.ref }}"
"""


def test_a_postponed_item_neither_stops_a_run_that_stops_on_errors_nor_is_retried(tmp_path, run_flow_file):
    run = run_flow_file(write(tmp_path, STOP_ON_ERROR, "ref,ready\nA,no\nB,yes\n"))
    assert (run.result.status, run.result.items_succeeded, run.result.items_postponed) == ("succeeded", 1, 1)
    assert run.items()["B"].status == "successful", "the item after the postponed one still runs"
    assert [s.status for s in run.steps() if s.action == "if" and s.item_ref == "A"] == ["postponed"], \
        "a step's retry does not run a postponement again"


PUT_OFF_TO_THE_PAST = """
name: Put off
steps:
  - read_csv: {path: orders.csv, into: orders}
  - for_each_item: "{{ orders }}"
    as: order
    item_ref: "{{ order.ref }}"
    retry_wait: 1s
    steps:
      - postpone_item: {until: "{{ order.when }}", reason: "waiting on the warehouse"}
"""


def test_under_the_service_an_item_put_off_to_a_past_moment_is_not_taken_again_and_again(tmp_path, run_flow_file):
    queue = open_work_queue(tmp_path / "queue.db")
    stop = threading.Event()
    guard = threading.Timer(20, stop.set)  # were the run to loop, it stops here and the test fails below
    guard.daemon = True
    guard.start()
    binding = ServiceBinding(queue=queue, worker_id="bot-test-1-x", item_lease_s=30, stop_event=stop)
    run = run_flow_file(write(tmp_path, PUT_OFF_TO_THE_PAST, "ref,when\nA,2020-01-01\n"), service=binding)
    guard.cancel()
    assert not run.result.items_failed and run.result.items_postponed == 1
    [item] = queue.items("Put off")
    assert (item.state, item.attempts) == ("new", 0)
    assert item.defer_until > dt.datetime.now(dt.timezone.utc), "not claimable again at once"
    history = queue.history(item.id)
    assert [event.to_state for event in history].count("in_progress") == 1, "the run took it once and ended"
    assert history[-1].reason.count("postponed until") == 1 and history[-1].reason.endswith("waiting on the warehouse")


def test_a_row_without_a_deadline_has_none_by_hand_and_under_the_service(tmp_path, run_flow_file):
    flow = write(tmp_path, DEADLINES, "ref,due\nNONE,\nSOON,2999-12-31\n")
    assert run_flow_file(flow).result.items_succeeded == 2
    queue = in_service(tmp_path, run_flow_file, flow)
    items = {i.reference: i for i in queue.items("Due orders")}
    assert (items["NONE"].state, items["NONE"].deadline) == ("successful", None)


def test_a_deadline_with_a_time_zone_is_compared_in_utc(tmp_path, run_flow_file):
    soon = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)).astimezone(dt.timezone(dt.timedelta(hours=-5)))
    passed = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None).isoformat(timespec="minutes") + "+09:00"
    run = run_flow_file(write(tmp_path, DEADLINES, f"ref,due\nSOON,{soon.isoformat()}\nPASSED,{passed}\n"))
    items = run.items()
    assert (items["SOON"].status, items["PASSED"].status) == ("successful", "failed")


def test_an_item_due_today_is_still_handled_today(tmp_path, run_flow_file):
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    run = run_flow_file(write(tmp_path, DEADLINES, f"ref,due\nTODAY,{today}\n"))
    assert run.items()["TODAY"].status == "successful"


def test_a_row_whose_deadline_cannot_be_read_fails_alone_and_the_others_go_on(tmp_path, run_flow_file):
    run = run_flow_file(write(tmp_path, DEADLINES, "ref,due\nA,2999-12-31\nB,soon\nC,\n"))
    items = run.items()
    assert (items["A"].status, items["C"].status) == ("successful", "successful")
    assert items["B"].status == "failed" and items["B"].exception == "business"
    assert "its deadline cannot be read" in items["B"].reason and "soon" in items["B"].reason


def test_under_the_service_a_row_whose_deadline_cannot_be_read_fails_alone(tmp_path, run_flow_file):
    queue = in_service(tmp_path, run_flow_file, write(tmp_path, DEADLINES, "ref,due\nA,2999-12-31\nB,soon\n"))
    items = {i.reference: i for i in queue.items("Due orders")}
    assert items["A"].state == "successful"
    assert (items["B"].state, items["B"].exception_kind) == ("failed", "business")
    assert "its deadline cannot be read" in items["B"].reason
