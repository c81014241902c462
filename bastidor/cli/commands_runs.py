"""`runs list`, `runs show` and `report`: the run history for supervisors and scripts."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from bastidor.cli.common import find_run, home_dir, open_store
from bastidor.report.tree import build_step_tree
from bastidor.service.health import read_health
from bastidor.store.stale import end_stale_runs


def register(commands) -> None:
    """Add the `runs` and `report` commands."""
    runs = commands.add_parser("runs", help="the run history")
    sub = runs.add_subparsers(dest="runs_command", metavar="list|show")
    sub.required = True
    listing = sub.add_parser("list", help="list recent runs")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--flow", help="only runs of this flow")
    listing.set_defaults(handler=list_runs)
    show = sub.add_parser("show", help="show one run's step tree and audit log path")
    show.add_argument("run", help="run id, a unique prefix of it, or 'last'")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=show_run)
    report = commands.add_parser("report", help="write a self-contained HTML report of a run")
    report.add_argument("run", help="run id, a unique prefix of it, or 'last'")
    report.add_argument("--output", "-o", help="file to write (default: report.html in the run folder)")
    report.set_defaults(handler=report_run)


def list_runs(args) -> int:
    """Print the run history as a table, or as JSON with --json; then what the service reports: a storage
    fault it is working through, and work waiting in a queue with no run to take it."""
    home = home_dir(args)
    store = open_store(home)
    end_stale_runs(store, _queue_if_any(home))
    runs = store.list_runs(limit=args.limit, flow=args.flow)
    if args.json:
        print(json.dumps([_jsonable(asdict(run)) for run in runs], indent=2))
        return 0
    table = Table("run", "flow", "status", "started (UTC)", "items", "ok", "failed")
    for run in runs:
        table.add_row(run.run_id, run.flow_name, run.status, f"{run.started_at:%Y-%m-%d %H:%M:%S}",
                      str(run.items_total), str(run.items_succeeded), str(run.items_failed))
    console = Console(highlight=False)
    if not console.is_terminal:
        console.width = 240
    console.print(table)
    for line in service_notes(home):
        console.print(line, markup=False)
    return 0


def service_notes(home: Path) -> list[str]:
    """Warnings a supervisor must see beside the run history: the service's storage fault, if it reports
    one, and queues whose items wait with no run queued or running to take them."""
    notes = []
    health = read_health(home)
    if health is not None and health.fault and health.is_alive():
        notes.append(f"warning: the service (pid {health.pid}) reports a storage fault since {health.fault_since}: "
                     f"{health.fault}; it keeps trying")
    queue = _queue_if_any(home)
    for waiting in queue.waiting_work() if queue is not None else []:
        due = f", the first due {waiting.earliest:%Y-%m-%d %H:%M} UTC" if waiting.earliest else ""
        notes.append(f"waiting: {waiting.items} items of '{waiting.queue_name}' are in the work queue with no run "
                     f"to take them{due}; start one with `runner.py trigger <flow file>`")
    return notes


def _queue_if_any(home: Path):
    """The home's work queue when it has one (never created just to be read); None when it cannot be read."""
    from bastidor.queue import QueueError, open_work_queue

    if not (home / "queue.db").is_file():
        return None
    try:
        return open_work_queue(home / "queue.db")
    except QueueError:
        return None


def show_run(args) -> int:
    """Print one run's step tree with statuses and timings, and where its audit log is."""
    home = home_dir(args)
    store = open_store(home)
    end_stale_runs(store, _queue_if_any(home))
    run = find_run(store, args.run)
    if run is None:
        return 2
    steps, items = store.list_steps(run.run_id), store.list_items(run.run_id)
    if args.json:
        print(json.dumps(_jsonable({"run": asdict(run), "items": [asdict(i) for i in items],
                                    "steps": [asdict(s) for s in steps]}), indent=2))
        return 0
    console = Console(highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console.width = 240
    console.print(f"run {run.run_id}  flow {run.flow_name}  status {run.status}")
    console.print(f"audit log: {run.audit_path}", markup=False)
    tree = Tree(f"{run.flow_name}")
    _add_nodes(tree, build_step_tree(steps))
    console.print(tree)
    return 0


def report_run(args) -> int:
    """Write the HTML report for a run and print its path."""
    from bastidor.report.html import write_run_report

    store = open_store(home_dir(args))
    run = find_run(store, args.run)
    if run is None:
        return 2
    output = Path(args.output) if args.output else Path(run.audit_path).parent / "report.html"
    print(write_run_report(store, run.run_id, output))
    return 0


def _add_nodes(parent, nodes) -> None:
    for node in nodes:
        step = node.step
        if step is None:
            _add_nodes(parent.add(f"{node.path} {node.label}  {node.status}"), node.children)
            continue
        item = f" [{step.item_ref}]" if step.item_ref else ""
        label = f"{step.path} {step.name}{item}  {step.status}  {step.duration_ms:.0f} ms"
        if step.error:
            label += f"  - {step.error.splitlines()[0]}"
        _add_nodes(parent.add(label), node.children)


def _jsonable(value):
    return json.loads(json.dumps(value, default=str))
