"""Live progress while a flow runs: the current item and step, and the counts so far."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from rich.console import Console
from rich.live import Live
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

    def stop(self) -> None:
        """Called when the run ends."""


class ConsoleProgress(SilentProgress):
    """A live status line on a terminal; one line per finished item when output is not a terminal."""

    def __init__(self, stream: TextIO | None = None):
        self.console = Console(file=stream or sys.stderr, highlight=False)
        self.live: Live | None = None
        self.state: Any = None
        self.item: Any = None
        self.step = ""

    def start(self, state: Any) -> None:
        """Show the run's header and, on a terminal, the live line."""
        self.state = state
        self.console.print(f"Running [bold]{state.flow.name}[/] (run {state.run_id})")
        if self.console.is_terminal:
            self.live = Live(self._line(), console=self.console, refresh_per_second=8, transient=True)
            self.live.start()

    def item_started(self, item: Any) -> None:
        """Remember the current item."""
        self.item = item
        self._refresh()

    def item_finished(self, item: Any) -> None:
        """Print a line for the finished item."""
        mark = {"successful": "[green]ok[/]", "postponed": "[yellow]postponed[/]"}.get(item.status, "[red]failed[/]")
        reason = f": {self.state.masker.mask_text(item.reason)}" if item.reason else ""
        self.console.print(f"  item {item.index} {item.ref} {mark}{reason}", markup=True)
        self.item = None
        self._refresh()

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
