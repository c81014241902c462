"""The run's browser: started on the first browser step, one fresh context per run, closed at the end."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any, Iterable

from bastidor.audit import SecretMasker
from bastidor.executor.evidence import (SCREENSHOTS, free_path, mark_secret_text, screenshot_name, scrub_trace,
                                       unmark_secret_text)
from bastidor.flow.model import BotSpec


class BrowserHolder:
    """Starts the bot's browser lazily and owns the run's browser context and failure evidence."""

    def __init__(self, spec: BotSpec | None, run_dir: Path, *, headed: bool = False,
                 base_url: str | None = None, bot: Any = None):
        self.spec = spec or BotSpec()
        self.run_dir = run_dir
        self.headed = headed
        self.base_url = base_url or self.spec.base_url
        self._bot = bot
        self._owns_bot = bot is None
        self._stack = ExitStack()
        self._run: Any = None

    @property
    def timeout_ms(self) -> int:
        """Default wait for browser actions."""
        return self.spec.timeout

    @property
    def started(self) -> bool:
        """Whether a browser context is open for this run."""
        return self._run is not None

    def current(self) -> Any:
        """The run's BrowserRun, starting the browser and a fresh context on first use."""
        if self._run is None:
            from bastidor.bots.session import Bot

            if self._bot is None:
                self._bot = self._stack.enter_context(Bot(self._settings()))
            self._run = self._stack.enter_context(self._bot.run_context(self._settings()))
        return self._run

    def failure_screenshot(self, step_path: str, secret_targets: list[Any], *, attempt: int = 1,
                           item_ref: str | None = None, secret_texts: Iterable[str] = ()) -> tuple[str, str] | None:
        """Save a screenshot for a failed step attempt, secrets masked; returns (relative path, sha256).

        Each attempt gets its own file (see `screenshot_name`), never replacing an earlier one. Password
        fields, `secret_targets` (fields that received a secret) and every element whose text contains one
        of `secret_texts` are covered by solid boxes. `item_ref` must already be masked.
        """
        if self._run is None or not self.spec.screenshot_on_failure:
            return None
        folder = self.run_dir / SCREENSHOTS
        folder.mkdir(parents=True, exist_ok=True)
        target = free_path(folder, screenshot_name(step_path, item_ref, attempt))
        try:
            digest = self.masked_screenshot(target, secret_targets, secret_texts)
        except Exception:  # the browser may be the thing that broke; the step's own error is what matters
            return None
        return f"{SCREENSHOTS}/{target.name}", digest

    def masked_screenshot(self, target: Path, secret_targets: list[Any], secret_texts: Iterable[str]) -> str:
        """Save a full-page screenshot of the run's page to `target` with password fields, `secret_targets`
        and the elements whose text contains one of `secret_texts` covered; returns its SHA-256."""
        page = self.current().page
        masks = [page.locator("input[type=password]"), *secret_targets]
        shown = mark_secret_text(page, secret_texts)
        try:
            return self.current().screenshot(target, mask=masks if shown is None else [*masks, shown])
        finally:
            if shown is not None:
                unmark_secret_text(page)

    def close(self, failed: bool, masker: SecretMasker) -> Path | None:
        """Close the context (saving a scrubbed trace when the run failed and traces are on) and the bot."""
        trace = None
        if self._run is not None and failed and self.spec.trace_on_failure:
            trace = self.run_dir / "trace.zip"
            try:
                self._run.save_trace(trace)
                scrub_trace(trace, masker)
            except Exception:  # no usable trace; never keep an unscrubbed one
                trace.unlink(missing_ok=True)
                trace = None
        self._run = None
        self._stack.close()
        return trace

    def _settings(self) -> Any:
        from bastidor.bots.session import BotSettings

        spec = self.spec
        downloads = Path(spec.downloads) if spec.downloads else self.run_dir / "downloads"
        return BotSettings(base_url=self.base_url, headless=spec.headless and not self.headed,
                           timeout_ms=spec.timeout, viewport=(spec.viewport.width, spec.viewport.height),
                           locale=spec.locale, timezone=spec.timezone, downloads_dir=downloads,
                           browser=spec.browser, trace_on_failure=spec.trace_on_failure)

