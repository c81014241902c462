"""Live progress while a flow runs: the current item and step, and the counts so far; the messages of
`log` steps and each finished item are printed as lines that stay (also when the output is a file or a pipe).

Names, references, reasons and messages come from flows and pages: they are printed literally (a `[bold]`
or `[data-test=x]` in them is text, not rich markup)."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.text import Text


class SilentProgress:
    """Progress that shows nothing (tests, services)."""

    def start(self, state: Any) -> None:
        """Called when the run starts."""

    def item_started(self, item: Any) -> None:
        """Called when an item starts."""

    def item_finished(self, item: Any) -> None:
        """Called when an item ends."""

    def step_started(self, ctx: Any) -> None:
        """Called when a step starts."""

    def step_finished(self, ctx: Any, outcome: str) -> None:
        """Called when a step ends."""

    def logged(self, ctx: Any, message: str) -> None:
        """Called when a `log` step writes its message (already masked)."""

    def stop(self) -> None:
        """Called when the run ends."""

    def browser_starting(self, what: str) -> None:
        """Called when the browser (or a fresh context in it) starts; `what` is its line in the step tree."""

    def browser_started(self, what: str, duration_ms: float) -> None:
        """Called when the browser (or a fresh context in it) has started, with how long that took."""


class ConsoleProgress(SilentProgress):
    """A live status line on a terminal; one line per finished item when output is not a terminal."""

    def __init__(self, stream: TextIO | None = None):
        self.console = Console(file=stream or sys.stderr, highlight=False, soft_wrap=True)
        self.live: Live | None = None
        self.state: Any = None
        self.item: Any = None
        self.step = ""

    def start(self, state: Any) -> None:
        """Show the run's header and, on a terminal, the live line."""
        self.state = state
        self.console.print(f"Running [bold]{escape(state.flow.name)}[/] (run {escape(state.run_id)})")
        if self.console.is_terminal:
            self.live = Live(self._line(), console=self.console, refresh_per_second=8, transient=True)
            self.live.start()

    def item_started(self, item: Any) -> None:
        """Remember the current item."""
        self.item = item
        self._refresh()

    def item_finished(self, item: Any) -> None:
        """Print a line for the finished item: ok, postponed, or failed with its exception kind and reason."""
        mark = {"successful": "[green]ok[/]", "postponed": "[yellow]postponed[/]",
                "interrupted": "[yellow]interrupted[/]"}.get(item.status)
        if mark is None:
            kind = f" ({item.exception} exception)" if item.exception else ""
            mark = f"[red]failed{kind}[/]"
        reason = f": {escape(self.state.masker.mask_text(item.reason))}" if item.reason else ""
        self.console.print(f"  item {item.index} {escape(item.ref)} {mark}{reason}")
        self.item = None
        self._refresh()

    def logged(self, ctx: Any, message: str) -> None:
        """Print the message of a `log` step (masked by the caller) as a line that stays."""
        item = ctx.scope.item
        where = f" ({item.ref})" if item is not None else ""
        self.console.print(Text(f"  log{where}: {message}"))

    def step_started(self, ctx: Any) -> None:
        """Show the step being run."""
        self.step = f"{ctx.path} {ctx.node.title()}"
        self._refresh()

    def stop(self) -> None:
        """Remove the live line."""
        if self.live is not None:
            self.live.stop()
            self.live = None

    def _refresh(self) -> None:
        if self.live is not None:
            self.live.update(self._line())

    def _line(self) -> Text:
        counters = self.state.counters
        item = f"item {self.item.index} {self.item.ref} | " if self.item else ""
        step = self.state.masker.mask_text(self.step)
        return Text(f"{item}step {step} | ok {counters.items_succeeded} failed {counters.items_failed}")

    def browser_starting(self, what: str) -> None:
        """Show that the browser is starting (it can take a second or more)."""
        self.step = what
        self._refresh()

    def browser_started(self, what: str, duration_ms: float) -> None:
        """Nothing to print: the start is a line of the step tree, and the next step takes the live line."""
