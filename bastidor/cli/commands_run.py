"""`run` validates a flow, runs it with live progress, writes its report and prints a summary."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bastidor.cli.common import error_out, home_dir, open_store

if TYPE_CHECKING:  # the executor, the flow loader and the store load when a flow is run, not for `--help`
    from bastidor.executor.run import RunOptions, RunResult
    from bastidor.flow.loader import Flow
    from bastidor.report.overview import RunOverview
    from bastidor.store import RunStore

EXIT_CODES = {"succeeded": 0, "failed": 1, "crashed": 3, "interrupted": 130}


def register(commands) -> None:
    """Add the `run` command."""
    run = commands.add_parser("run", help="validate and run a flow")
    run.add_argument("flow", help="the flow file")
    run.add_argument("--input", "-i", action="append", default=[], metavar="NAME=VALUE",
                     help="override an input (repeatable)")
    run.add_argument("--headed", action="store_true", help="show the browser window")
    run.add_argument("--base-url", help="override the flow's bot base_url")
    run.add_argument("--secrets-file", help="local secrets file (default: .bastidor/secrets.env)")
    run.set_defaults(handler=run_command)


def run_command(args) -> int:
    """Run one flow from the command line and return the exit code."""
    from bastidor.executor.inputs import InputError, parse_assignments
    from bastidor.executor.progress import ConsoleProgress
    from bastidor.executor.run import RunOptions
    from bastidor.flow.diagnostics import FlowValidationError
    from bastidor.flow.loader import load_flow
    from bastidor.secrets import default_secrets

    try:
        flow = load_flow(args.flow)
        options = RunOptions(home=home_dir(args), inputs=parse_assignments(args.input), headed=args.headed,
                             base_url=args.base_url, progress=ConsoleProgress(),
                             secrets=default_secrets(Path(args.secrets_file) if args.secrets_file else None))
    except FlowValidationError as error:
        print(error, file=sys.stderr)
        print("the flow was not run: fix the problems above", file=sys.stderr)
        return 2
    except InputError as error:
        error_out(str(error))
        return 2
    return exit_code(execute_and_report(flow, options))


NOT_STARTED, STORAGE_FAULT = 2, 3


def exit_code(result: RunResult | int) -> int:
    """0 succeeded, 1 failed (a step or an item), 2 not started (bad input or secrets), 3 crashed (the
    browser, the disk, the audit log or the run store broke), 130 interrupted (Ctrl-C or SIGTERM)."""
    return result if isinstance(result, int) else EXIT_CODES.get(result.status, 1)


def execute_and_report(flow: Flow, options: RunOptions) -> RunResult | int:
    """Run a loaded flow, write its HTML report and print the summary; the exit code when it could not
    start (bad input or secrets: 2; no run store or audit log could be written: 3)."""
    from bastidor.audit import AuditWriteError
    from bastidor.cli.summary import print_summary
    from bastidor.executor.inputs import InputError
    from bastidor.executor.interrupts import sigterm_interrupts
    from bastidor.executor.run import run_flow
    from bastidor.secrets import SecretsError
    from bastidor.store import StoreError

    try:
        store = open_store_for(options)
    except StoreError as error:
        error_out(f"the run was not started: {error}")
        return STORAGE_FAULT
    try:
        with sigterm_interrupts():
            result = run_flow(flow, options, store)
    except (InputError, SecretsError) as error:
        error_out(str(error))
        return NOT_STARTED
    except AuditWriteError as error:
        error_out(f"the run was not started: {error}")
        return STORAGE_FAULT
    report = write_report(store, result)
    overview = read_overview(store, result)
    if options.store is None:
        store.close()
    print_summary(result, report, overview=overview)
    return result


def read_overview(store: RunStore, result: RunResult) -> RunOverview | None:
    """The run as the store recorded it (items with their exception kinds, step counts), for the summary;
    None when the store cannot say (the summary then shows what the run itself saw)."""
    from bastidor.report.overview import load_run_overview
    from bastidor.store import StoreError

    try:
        run = store.get_run(result.run_id)
        return load_run_overview(store, run, with_details=False) if run is not None else None
    except (StoreError, OSError):
        return None


def open_store_for(options: RunOptions) -> RunStore:
    """The run store given in the options, or the one in their home folder."""
    return options.store or open_store(options.home)


def write_report(store: RunStore, result: RunResult) -> Path | None:
    """Write the run's HTML report next to its audit log; a report problem never hides the result."""
    from bastidor.report.html import write_run_report

    try:
        if store.get_run(result.run_id) is None:
            error_out("no report: the run store could not record this run (see the error above)")
            return None
        return write_run_report(store, result.run_id, result.run_dir / "report.html")
    except Exception as error:  # the run itself is recorded; tell the user how to retry the report
        error_out(f"could not write the report ({error}); try `bastidor report {result.run_id}`")
        return None
