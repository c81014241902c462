"""`runs list`, `runs show` and `report`: the run history for supervisors and scripts."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from bastidor.cli.common import database_errors_in_one_line, find_run, home_dir, open_store
from bastidor.database.places import is_postgres, places_for

if TYPE_CHECKING:  # rich, the store and the queue load when a command reads runs, not for `--help`
    from rich.console import Console
    from rich.table import Table

    from bastidor.queue import WorkQueue
    from bastidor.store import RunRecord


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


@database_errors_in_one_line
def list_runs(args) -> int:
    """Print the run history as a table, or as JSON with --json; then what the service reports: a storage
    fault it is working through, and work waiting in a queue with no run to take it."""
    from bastidor.store.stale import end_stale_runs

    home = home_dir(args)
    store = open_store(home)
    end_stale_runs(store, _queue_if_any(home))
    runs = store.list_runs(limit=args.limit, flow=args.flow)
    if args.json:
        print(json.dumps([_jsonable(asdict(run)) for run in runs], indent=2))
        return 0
    console = _plain_console()
    if runs:
        console.print(_runs_table(runs))
    else:
        console.print(no_runs_line(home, args.flow), markup=False, soft_wrap=True)
    for line in service_notes(home):
        console.print(line, markup=False)
    return 0


def no_runs_line(home: Path, flow: str | None) -> str:
    """What `runs list` says when there is nothing to list: where it looked (the home folder, or the shared
    database), and how to start a run."""
    which = f"no runs of '{flow}'" if flow else "no runs yet"
    places = places_for(home)
    where = places.describe() if places.shared else str(home.resolve())
    return f"{which} in {where}; start one with: python runner.py run flows/<flow>.yaml"


def _runs_table(runs: list[RunRecord]) -> Table:
    """The runs as a table: id, flow, status (coloured), start time and item counts, all printed literally."""
    from rich.table import Table
    from rich.text import Text

    from bastidor.cli.run_view import status_text

    table = Table("run", "flow", "status", "started (UTC)", "items", "ok", "failed")
    for run in runs:
        table.add_row(Text(run.run_id), Text(run.flow_name), status_text(run.status),
                      f"{run.started_at:%Y-%m-%d %H:%M:%S}", str(run.items_total), str(run.items_succeeded),
                      str(run.items_failed))
    return table


def _plain_console(**options) -> Console:
    """A console that does not colour numbers or paths by itself, and is wide when its output is not a
    terminal (a file or a pipe), so no line is cut."""
    from rich.console import Console

    console = Console(highlight=False, **options)
    if not console.is_terminal:
        console.width = 240
    return console


def service_notes(home: Path) -> list[str]:
    """Warnings a supervisor must see beside the run history: the service's storage fault, if it reports
    one, and queues whose items wait with no run queued or running to take them."""
    from bastidor.service.health import read_health

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


def _queue_if_any(home: Path) -> WorkQueue | None:
    """The home's work queue when it has one (never created just to be read); None when it cannot be read."""
    from bastidor.queue import QueueError, open_work_queue

    location = places_for(home).queue
    if not is_postgres(location) and not Path(location).is_file():
        return None
    try:
        return open_work_queue(location)
    except QueueError:
        return None


@database_errors_in_one_line
def show_run(args) -> int:
    """Print one run: its counts, what went wrong first, then its step tree with attempts, values read and
    messages logged, and where its audit log is."""
    from bastidor.cli.run_view import print_run
    from bastidor.report.overview import load_run_overview
    from bastidor.store.stale import end_stale_runs

    home = home_dir(args)
    store = open_store(home)
    end_stale_runs(store, _queue_if_any(home))
    run = find_run(store, args.run)
    if run is None:
        return 2
    if args.json:
        steps, items = store.list_steps(run.run_id), store.list_items(run.run_id)
        print(json.dumps(_jsonable({"run": asdict(run), "items": [asdict(i) for i in items],
                                    "steps": [asdict(s) for s in steps]}), indent=2))
        return 0
    print_run(_plain_console(soft_wrap=True), load_run_overview(store, run))
    return 0


@database_errors_in_one_line
def report_run(args) -> int:
    """Write the HTML report for a run and print its path."""
    from bastidor.report.html import write_run_report

    store = open_store(home_dir(args))
    run = find_run(store, args.run)
    if run is None:
        return 2
    output = Path(args.output) if args.output else default_report_path(home_dir(args), run)
    print(write_run_report(store, run.run_id, output))
    return 0


def default_report_path(home: Path, run: RunRecord) -> Path:
    """report.html in the run's folder, or, for a run whose folder is on another machine (a shared
    database), in this home's runs/<run id>/ folder."""
    run_dir = Path(run.audit_path).parent if run.audit_path else None
    if run_dir is not None and run_dir.is_dir():
        return run_dir / "report.html"
    return home / "runs" / run.run_id / "report.html"


def _jsonable(value):
    return json.loads(json.dumps(value, default=str))
