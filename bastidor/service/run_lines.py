"""The lines `serve` prints as its bots take runs: one when a run starts, one when it ends.

    run 20261127-123715-b9297c started: Order entry (bot host-4242-w1)
    run 20261127-123715-b9297c failed in 14.2 s: Order entry; items: 12 total, 11 succeeded, 1 failed (bot ...)

Each bot is its own process writing to the service's output, so each line is printed whole and flushed at
once. Flow names, errors and bot ids are the user's text: they are escaped, so a flow named `[bold]Orders`
prints as written instead of being read as Rich markup.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape

from bastidor.executor.progress import SilentProgress

OUTCOME_STYLES = {"succeeded": "green", "failed": "red", "crashed": "magenta", "interrupted": "yellow"}


class RunStartLine(SilentProgress):
    """The run's progress hook under the service: prints the "started" line once the run has really started
    (its inputs and secrets were found and its audit log is open), and nothing else."""

    def __init__(self, worker_id: str, console: Console | None = None):
        self.worker_id = worker_id
        self.console = console

    def start(self, state: Any) -> None:
        """Print the line for the run that starts."""
        print_run_started(self.worker_id, state.flow.name, state.run_id, self.console)


def print_run_started(worker_id: str, flow: str, run_id: str, console: Console | None = None) -> None:
    """Say that a bot started run `run_id` of `flow`."""
    _print(console, f"run {escape(run_id)} [bold]started[/]: {escape(flow)} (bot {escape(worker_id)})")


def print_run_finished(worker_id: str, result: Any, console: Console | None = None) -> None:
    """Say how a run ended (`result` is the executor's `RunResult`): its outcome, time, and items."""
    style = OUTCOME_STYLES.get(result.status, "bold")
    error = f"; error: {escape(result.error)}" if result.error else ""
    outcome = f"[{style}]{escape(result.status)}[/] in {result.duration_s:.1f} s"
    _print(console, f"run {escape(result.run_id)} {outcome}: {escape(result.flow)}; {items_text(result)}{error} "
                    f"(bot {escape(worker_id)})")


def print_request_not_run(worker_id: str, request_id: int, flow_path: str, reason: str,
                          console: Console | None = None) -> None:
    """Say that a run request was given up before its run could start (an invalid flow, a missing secret);
    a reason of several lines (every problem of a flow) is joined into one."""
    one_line = "; ".join(line.strip() for line in reason.splitlines() if line.strip())
    _print(console, f"request {request_id} [red]not run[/]: {escape(flow_path)}: {escape(one_line)} "
                    f"(bot {escape(worker_id)})")


def items_text(result: Any) -> str:
    """`items: 12 total, 11 succeeded, 1 failed`, with postponed, interrupted and already processed items
    when there are any."""
    parts = [f"{result.items_total} total", f"{result.items_succeeded} succeeded", f"{result.items_failed} failed"]
    for count, label in ((getattr(result, "items_postponed", 0), "postponed"),
                         (getattr(result, "items_interrupted", 0), "interrupted"),
                         (getattr(result, "already_processed", 0), "already processed")):
        if count:
            parts.append(f"{count} {label}")
    return "items: " + ", ".join(parts)


def _print(console: Console | None, text: str) -> None:
    """One whole line on the service's output, flushed at once."""
    console = console or Console(highlight=False, soft_wrap=True)
    console.print(text)
    console.file.flush()
