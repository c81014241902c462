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
  - for_each: "{{ orders }}"
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
  - for_each: "{{ orders }}"
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
    assert items["SOON"].deadline == dt.datetime(2999, 12, 31, tzinfo=dt.timezone.utc)
    assert (items["SOON"].state, items["LATE"].state, items["LATE"].reason) == \
        ("successful", "failed", "deadline passed")
