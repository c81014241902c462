"""The end-of-run summary printed to the console."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

_STATUS_STYLE = {"succeeded": "bold green", "failed": "bold red", "crashed": "bold magenta",
                 "interrupted": "bold yellow"}


def print_summary(result, report_path: Path | None, console: Console | None = None) -> None:
    """Print items succeeded and failed (with reasons), the duration, and where the log and report are."""
    console = console or Console(highlight=False, soft_wrap=True)
    style = _STATUS_STYLE.get(result.status, "bold")
    console.print(f"\n[{style}]{result.status.upper()}[/] {result.flow} (run {result.run_id}) "
                  f"in {result.duration_s:.1f}s")
    console.print(f"  items: {result.items_total} total, {result.items_succeeded} succeeded, "
                  f"{result.items_failed} failed" + (f", {result.items_postponed} postponed"
                                                     if result.items_postponed else "")
                  + (f", {result.items_interrupted} interrupted" if result.items_interrupted else ""))
    if result.already_processed:
        console.print(f"  already processed in earlier runs (not submitted again): {result.already_processed}")
    for ref, reason in result.failures[:20]:
        console.print(f"    - {ref}: {reason}", markup=False)
    if len(result.failures) > 20:
        console.print(f"    ... and {len(result.failures) - 20} more (see the report)")
    if result.error:
        console.print(f"  error: {result.error}", markup=False)
    console.print(f"  audit log: {result.audit_path}", markup=False)
    if report_path is not None:
        console.print(f"  report:    {report_path}", markup=False)
