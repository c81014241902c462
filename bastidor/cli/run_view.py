"""`runs show` on a terminal: the run's header with item and step counts, what went wrong first (each
failed item with its exception kind, reason, step and screenshot), then the step tree with attempts,
values read and messages logged.

Everything printed comes from flows, pages and people (names, references, selectors such as
``[data-test=x]``, messages), so it is printed as rich `Text`, never parsed as rich markup.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text
from rich.tree import Tree

from bastidor.report.node import TreeNode
from bastidor.report.overview import Failure, RunOverview

STATUS_STYLE = {"passed": "green", "succeeded": "green", "failed": "red", "crashed": "magenta",
                "business_exception": "yellow", "interrupted": "yellow", "postponed": "yellow", "running": "blue",
                "not_run": "dim"}


def status_text(status: str) -> Text:
    """A status in words, coloured: ``business_exception`` is "business exception"."""
    return Text(status.replace("_", " "), style=STATUS_STYLE.get(status, ""))


def print_run(console: Console, overview: RunOverview) -> None:
    """Print the header, the failures and the step tree of a run."""
    run = overview.run
    header = Text.assemble("run ", run.run_id, "  flow ", run.flow_name, "  status ", status_text(run.status))
    if run.ended_at is not None:
        header.append(f"  in {(run.ended_at - run.started_at).total_seconds():.1f}s")
    console.print(header)
    console.print(Text(f"items: {overview.item_words()}"))
    console.print(Text(f"steps: {overview.count_words() or 'none recorded'}"))
    if run.error:
        console.print(Text(f"error: {run.error}", style="red"))
    console.print(Text(f"audit log: {run.audit_path}"))
    if overview.failures:
        console.print(Text("\nWhat went wrong", style="bold"))
        run_dir = Path(run.audit_path).parent if run.audit_path else None
        for failure in overview.failures:
            print_failure(console, failure, run_dir)
    console.print()
    tree = Tree(Text(run.flow_name, style="bold"))
    add_nodes(tree, overview.tree)
    console.print(tree)


def print_failure(console: Console, failure: Failure, run_dir: Path | None) -> None:
    """One failure: the item (or step), the exception kind and reason, where it happened, the screenshot."""
    step = failure.step
    message = failure.message.strip().splitlines()[0] if failure.message.strip() else ""
    if failure.item_ref is not None:
        console.print(Text.assemble("  - ", (f"item {failure.item_ref}", "bold"), ": ", (failure.kind, "red"), ": ",
                                    message))
        if step is not None:
            where = f" ({step.line})" if step.line else ""
            console.print(Text(f"      at step {step.path} {step.name}{where}"))
    else:
        subject = f"step {step.path} {step.name}" if step is not None else "the run"
        console.print(Text.assemble("  - ", (subject, "bold"), " ", (failure.kind, "red"), ": ", message))
        if step is not None and step.line:
            console.print(Text(f"      at {step.line}"))
    if step is not None and step.screenshot:
        shot = run_dir / step.screenshot if run_dir is not None else Path(step.screenshot)
        console.print(Text(f"      screenshot: {shot}"))


def add_nodes(parent: Tree, nodes: list[TreeNode]) -> None:
    """Add `nodes` and their children to a rich tree, one line each."""
    for node in nodes:
        add_nodes(parent.add(node_line(node)), node.children)


def node_line(node: TreeNode) -> Text:
    """One line of the tree: path, label, status, how it went, duration, the value recorded, the error."""
    line = Text()
    if node.kind != "attempt":
        line.append(f"{node.path} ", style="dim")
    line.append(node.label, style="bold" if node.kind in ("item", "attempt") else "")
    line.append("  ")
    line.append_text(status_text(node.status))
    if node.note and not (node.kind == "attempt" and node.children):  # the steps below show the error
        line.append(f"  {node.note}", style=_note_style(node))
    step: Any = node.step
    if step is not None and node.kind == "step" and step.duration_ms is not None and step.status != "not_run":
        line.append(f"  {step.duration_ms:.0f} ms", style="dim")
    if node.value:
        line.append(f"  {node.value}", style="cyan")
    if node.own_error and node.kind != "attempt":
        line.append(f"  - {node.own_error.strip().splitlines()[0]}", style="red")
    return line


def _note_style(node: TreeNode) -> str:
    return "green" if node.status == "passed" else "yellow" if node.status in ("business_exception",
                                                                              "postponed") else "red"
