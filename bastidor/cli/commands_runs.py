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
    """Print the run history as a table, or as JSON with --json."""
    store = open_store(home_dir(args))
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
    return 0


def show_run(args) -> int:
    """Print one run's step tree with statuses and timings, and where its audit log is."""
    store = open_store(home_dir(args))
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
