"""Shared helpers for the Items, Exceptions and exports tests: a flow that makes business exceptions,
a console on the store its runs were recorded in, and a work-queue item failed the way a bot fails one."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from console_support import Console, make_console

from bastidor.queue import NewItem, WorkQueue
from bastidor.store import ItemRecord, RunRecord, RunStore

PRICE_FLOW_NAME = "Price lines"
PRICE_FLOW = """
name: Price lines
steps:
  - read_csv: {path: lines.csv, into: lines}
  - for_each_item: "{{ lines }}"
    as: line
    item_ref: "{{ line.sku }}"
    steps:
      - if: "{{ int(line.qty) < 1 }}"
        then:
          - fail_item: "{{ 'quantity must be at least 1 for ' + line.sku }}"
      - set: {net: "{{ int(line.qty) * decimal(line.price) }}"}
"""
PRICE_LINES = "sku,qty,price\nA-1,2,10.10\nB-2,1,0.10\nC-3,0,5.00\nD-4,0,0.20\n"
"""A-1 and B-2 succeed; C-3 and D-4 are business exceptions (quantity below 1)."""


def write_price_flow(folder: Path, lines: str = PRICE_LINES, flow: str = PRICE_FLOW) -> Path:
    """Write the price flow and its lines.csv into `folder`; returns the flow file."""
    (folder / "lines.csv").write_text(lines, encoding="utf-8")
    path = folder / "price.yaml"
    path.write_text(flow, encoding="utf-8")
    return path


def console_for(tmp_path: Path, store: RunStore) -> Console:
    """A console on `tmp_path / "home"` (where `run_flow_file` keeps runs) reading `store`."""
    return make_console(tmp_path, store=store)


def fail_in_queue(queue: WorkQueue, queue_name: str, reference: str, reason: str) -> int:
    """Add `reference` to the queue, claim it and fail it as a business exception, as a bot does; its id."""
    queue.add_items(queue_name, [NewItem(reference=reference, data={"sku": reference})])
    worker = "bot@test:1:abc123"
    claimed = queue.claim_item(queue_name, worker, lease_s=60)
    assert claimed is not None and claimed.reference == reference
    queue.fail_item(claimed.id, worker, reason, business=True)
    return claimed.id


def add_run(store: RunStore, run_id: str, flow_name: str, started_at: datetime, **fields: Any) -> RunRecord:
    """Add a finished run through the RunStore API."""
    run = RunRecord(run_id=run_id, flow_name=flow_name, flow_path=f"flows/{run_id}.yaml", flow_sha256="0" * 64,
                    status=fields.pop("status", "succeeded"), started_at=started_at,
                    ended_at=started_at + timedelta(minutes=5), **fields)
    store.create_run(run)
    return run


def add_item(store: RunStore, run_id: str, item_ref: str, started_at: datetime, status: str = "successful",
             exception: str | None = None, reason: str | None = None, **fields: Any) -> ItemRecord:
    """Add a finished item through the RunStore API (two seconds long)."""
    item = ItemRecord(run_id=run_id, item_ref=item_ref, status=status, reason=reason, started_at=started_at,
                      ended_at=started_at + timedelta(seconds=2), exception=exception,
                      data=fields.pop("data", {"ref": item_ref}), **fields)
    store.upsert_item(item)
    return item


def day(year: int, month: int, day_of_month: int, hour: int = 12) -> datetime:
    """A UTC datetime."""
    return datetime(year, month, day_of_month, hour, tzinfo=timezone.utc)


def run_in_service(run_flow_file: Any, flow: Path, queue: WorkQueue, **options: Any) -> Any:
    """Run `flow` as a service bot would, its for_each_item going through `queue`; the FlowRun."""
    import threading

    from bastidor.service.worker import ServiceBinding

    binding = ServiceBinding(queue=queue, worker_id="bot-test-1-x", item_lease_s=30, stop_event=threading.Event())
    return run_flow_file(flow, service=binding, **options)
