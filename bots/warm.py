"""A browser context opened ahead of a bot's next run, while the bot is idle (see `Bot.prepare`).

Opening a context and its page takes tens of milliseconds at the start of each run. A service worker opens
the next one as soon as a run has ended, with that run's settings; the next run takes it when it needs the
same settings, else it is closed and a fresh one opened as usual. A prepared context is always new: opened
after the previous run's context was closed, and handed to one run only, never back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .browser_run import BrowserRun


def context_key(settings: Any) -> tuple:
    """What a context is made with (`BotSettings`), apart from the downloads folder: a run gives its own
    folder when it takes a prepared context."""
    return (settings.base_url, settings.timeout_ms, tuple(settings.viewport), settings.locale, settings.timezone,
            settings.trace_on_failure, tuple(settings.block))


@dataclass
class PreparedRun:
    """A context and page opened ahead of a run, with the settings they were made with."""

    run: BrowserRun
    key: tuple
    crashed: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self.run.page.on("crash", self._crashed)

    def fits(self, settings: Any) -> bool:
        """Whether a run with `settings` can take it: the same settings, and its page still alive."""
        return self.key == context_key(settings) and not self.crashed and not self.run.page.is_closed()

    def _crashed(self, _page: Any) -> None:
        self.crashed = True
