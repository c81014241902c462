"""The run's browser: started on the first browser step, a fresh context per run (or per work item with
`bot: {fresh_context: per_item}`), closed at the end.

Starting the browser is timed on its own (`BrowserStart`), so that the step that needed it shows only its
own time; the executor records each start as its own line of the step tree (see `browser_start`).
"""

from __future__ import annotations

import datetime as dt
import time
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ContextManager, Iterable

from bastidor.audit import SecretMasker
from bastidor.executor.evidence import (SCREENSHOTS, free_path, mark_secret_text, screenshot_name, scrub_trace,
                                       unmark_secret_text)
from bastidor.flow.model import BotSpec

SECRET_FIELD_ATTRIBUTE = "data-bastidor-secret-field"
"""Marks, for the time of one PDF, the fields that received a secret."""
_HIDE_SECRETS_CSS = ("input[type=password], [data-bastidor-secret-field], [data-bastidor-secret-field] *, "
                     "[data-bastidor-secret-text], [data-bastidor-secret-text] * { visibility: hidden !important; }")
_MARK = "(elements, attribute) => elements.forEach((element) => element.setAttribute(attribute, ''))"
_UNMARK = "(attribute) => document.querySelectorAll(`[${attribute}]`).forEach((e) => e.removeAttribute(attribute))"


@dataclass(frozen=True)
class BrowserStart:
    """One start of the run's browser or of a fresh context in it, timed on its own."""

    started_at: dt.datetime
    duration_ms: float
    launched: bool
    """True when a browser was launched; False for a fresh context in a browser already running."""
    error: BaseException | None = None
    warm: bool = False
    """True when the run took a context its bot had opened ahead, while idle (under the service)."""


class BrowserHolder:
    """Starts the bot's browser lazily and owns the run's browser context and failure evidence."""

    def __init__(self, spec: BotSpec | None, run_dir: Path, *, headed: bool = False,
                 base_url: str | None = None, bot: Any = None):
        self.spec = spec or BotSpec()
        self.run_dir = run_dir
        self.headed = headed
        self.base_url = base_url or self.spec.base_url
        self._bot = bot
        self._stack = ExitStack()
        self._context: ContextManager[Any] | None = None
        self._run: Any = None
        self.starts: list[BrowserStart] = []
        """Starts not yet recorded by the executor (see `take_starts`)."""
        self.starts_ms = 0.0
        """The time of every start taken so far, in milliseconds: a step takes out what began while it ran."""
        self.blocked_requests = 0
        """Requests refused by `bot: {block: [...]}` in the contexts closed so far."""

    @property
    def timeout_ms(self) -> int:
        """Default wait for browser actions."""
        return self.spec.timeout

    @property
    def started(self) -> bool:
        """Whether a browser context is open for this run."""
        return self._run is not None

    @property
    def will_launch(self) -> bool:
        """Whether the next start launches a browser (rather than opening a context in a running one)."""
        return self._bot is None

    @property
    def fresh_per_item(self) -> bool:
        """Whether each work item starts in a new browser context (`bot: {fresh_context: per_item}`)."""
        return self.spec.fresh_context == "per_item"

    def current(self) -> Any:
        """The run's BrowserRun, starting the browser and a fresh context on first use."""
        if self._run is None:
            self._open()
        return self._run

    def take_starts(self) -> list[BrowserStart]:
        """The starts since the last call, oldest first, for the executor to record."""
        starts, self.starts = self.starts, []
        self.starts_ms += sum(start.duration_ms for start in starts)
        return starts

    def _open(self) -> None:
        from bastidor.bots.session import Bot

        started_at, clock, launched = dt.datetime.now(dt.timezone.utc), time.perf_counter(), False
        try:
            if self._bot is None:
                launched = True
                self._bot = self._stack.enter_context(Bot(self._settings()))
            context = self._bot.run_context(self._settings())
            self._run = context.__enter__()
            self._context = context
        except BaseException as error:
            self.starts.append(BrowserStart(started_at, _ms_since(clock), launched, error))
            raise
        self.starts.append(BrowserStart(started_at, _ms_since(clock), launched, warm=self._run.warm))

    def end_context(self, masker: SecretMasker, *, keep_trace_as: str | None = None) -> Path | None:
        """Close the current context, if any, so that the next browser step starts a fresh one (no cookies,
        storage or pages of this one). With `keep_trace_as` and traces on, its trace is kept under that
        name in the run folder, scrubbed of secrets; returns the trace's path when one was kept."""
        if self._run is None:
            return None
        trace = self._keep_trace(self.run_dir / keep_trace_as, masker) if keep_trace_as else None
        self.blocked_requests += self._run.blocked_requests or 0
        context, self._context, self._run = self._context, None, None
        if context is not None:
            context.__exit__(None, None, None)
        return trace

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

    def masked_screenshot(self, target: Path, secret_targets: list[Any], secret_texts: Iterable[str], *,
                          element: Any = None, full_page: bool = True, timeout_ms: float | None = None) -> str:
        """Save a screenshot of the run's page (or of `element` only) to `target` with password fields,
        `secret_targets` and the elements whose text contains one of `secret_texts` covered; returns its
        SHA-256."""
        page = self.current().page
        masks = [page.locator("input[type=password]"), *secret_targets]
        shown = mark_secret_text(page, secret_texts)
        try:
            return self.current().screenshot(target, mask=masks if shown is None else [*masks, shown],
                                             element=element, full_page=full_page, timeout_ms=timeout_ms)
        finally:
            if shown is not None:
                unmark_secret_text(page)

    def masked_pdf(self, target: Path, secret_targets: list[Any], secret_texts: Iterable[str], *,
                   paper: str = "A4", landscape: bool = False) -> str:
        """Print the run's page to a PDF at `target` with password fields, `secret_targets` and the elements
        whose text contains one of `secret_texts` left blank (not painted, so their text is not in the file
        either); returns its SHA-256."""
        page = self.current().page
        style = None
        try:  # a mark that cannot be made stops the PDF: nothing is printed with a secret showing
            mark_secret_text(page, secret_texts)
            for locator in secret_targets:
                locator.evaluate_all(_MARK, SECRET_FIELD_ATTRIBUTE)
            style = page.add_style_tag(content=_HIDE_SECRETS_CSS)
            return self.current().save_pdf(target, paper=paper, landscape=landscape)
        finally:
            with suppress(Exception):  # a page that broke keeps its marks; the step's own error matters
                if style is not None:
                    style.evaluate("(element) => element.remove()")
                page.evaluate(_UNMARK, SECRET_FIELD_ATTRIBUTE)
                unmark_secret_text(page)

    def close(self, failed: bool, masker: SecretMasker) -> Path | None:
        """Close the context (saving a scrubbed trace when the run failed and traces are on) and the bot."""
        try:
            return self.end_context(masker, keep_trace_as="trace.zip" if failed else None)
        finally:
            self._stack.close()

    def _keep_trace(self, trace: Path, masker: SecretMasker) -> Path | None:
        if not self.spec.trace_on_failure or self._run is None:
            return None
        try:
            self._run.save_trace(trace)
            scrub_trace(trace, masker)
        except Exception:  # no usable trace; never keep an unscrubbed one
            trace.unlink(missing_ok=True)
            return None
        return trace

    def _settings(self) -> Any:
        from bastidor.bots.session import BotSettings

        spec = self.spec
        downloads = Path(spec.downloads) if spec.downloads else self.run_dir / "downloads"
        return BotSettings(base_url=self.base_url, headless=spec.headless and not self.headed,
                           timeout_ms=spec.timeout, viewport=(spec.viewport.width, spec.viewport.height),
                           locale=spec.locale, timezone=spec.timezone, downloads_dir=downloads,
                           browser=spec.browser, trace_on_failure=spec.trace_on_failure, block=tuple(spec.block))


def _ms_since(clock: float) -> float:
    return round((time.perf_counter() - clock) * 1000, 1)
