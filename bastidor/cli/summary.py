"""The end-of-run summary printed to the console: the outcome, the items with failures grouped by exception
kind (business: a person must look; application: the site or the bot failed), the step counts, and where
the audit log and report are. Names, references and reasons are printed literally, never as rich markup."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.text import Text

MAX_FAILURES_LISTED = 20
_STATUS_STYLE = {"succeeded": "bold green", "failed": "bold red", "crashed": "bold magenta",
                 "interrupted": "bold yellow"}
_KIND_HEADINGS = {"business": "business exceptions (a rule of the process said no; a person must look):",
                  "application": "application exceptions (the site or the bot failed; a retry may help):"}


def print_summary(result, report_path: Path | None, console: Console | None = None,
                  overview: Any = None) -> None:
    """Print items succeeded and failed (with kinds and reasons), the step counts, the duration, and where
    the log and report are. `overview` (a `RunOverview` of the run, when the run store could be read) gives
    the exception kinds and step counts."""
    console = console or Console(highlight=False, soft_wrap=True)
    style = _STATUS_STYLE.get(result.status, "bold")
    console.print(f"\n[{style}]{result.status.upper()}[/] {escape(result.flow)} (run {escape(result.run_id)}) "
                  f"in {result.duration_s:.1f}s")
    console.print(Text(f"  items: {result.items_total} total, {result.items_succeeded} succeeded, "
                       f"{result.items_failed} failed" + (f", {result.items_postponed} postponed"
                                                          if result.items_postponed else "")
                       + (f", {result.items_interrupted} interrupted" if result.items_interrupted else "")))
    if result.already_processed:
        console.print(f"  already processed in earlier runs (not submitted again): {result.already_processed}")
    _print_failures(console, result, overview)
    if overview is not None and overview.counts:
        console.print(Text(f"  steps: {overview.count_words()}"))
    if result.error:
        console.print(Text(f"  error: {_continued(result.error, '         ')}"))
    console.print(Text(f"  audit log: {result.audit_path}"))
    if report_path is not None:
        console.print(Text(f"  report:    {report_path}"))


def _print_failures(console: Console, result, overview: Any) -> None:
    """The failed items, grouped by exception kind when the run store says which; else as the run saw them."""
    failed = [item for item in overview.items if item.status == "failed"] if overview is not None else None
    if not failed:
        _print_list(console, result.failures, "    ")
        return
    for kind in ("business", "application", None):
        group = [(item.item_ref, item.reason or "failed") for item in failed
                 if item.exception == kind or (kind is None and item.exception not in _KIND_HEADINGS)]
        if group:
            console.print(Text(f"  {_KIND_HEADINGS.get(kind, 'other failures:')}"))
            _print_list(console, group, "    ")


def _print_list(console: Console, failures: list[tuple[str, str]], indent: str) -> None:
    for ref, reason in failures[:MAX_FAILURES_LISTED]:
        console.print(Text(f"{indent}- {ref}: {_continued(reason, indent + '  ')}"))
    if len(failures) > MAX_FAILURES_LISTED:
        console.print(Text(f"{indent}... and {len(failures) - MAX_FAILURES_LISTED} more (see the report)"))


def _continued(text: str, indent: str) -> str:
    """`text` with its second and later lines indented under the first (a failed step's message has a few)."""
    return str(text).replace("\n", "\n" + indent)
