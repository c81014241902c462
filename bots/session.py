"""A bot's browser: one Playwright browser per bot, a fresh context for every run."""

from __future__ import annotations

import tempfile
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from playwright.sync_api import Browser, BrowserContext, Playwright, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from .blocking import RequestBlocker
from .browser_run import BrowserRun, FailureEvidence
from .crash import is_crash
from .discovery import BrowserChoice, BrowserNotFoundError, find_browser, launch_args
from .warm import PreparedRun, context_key

__all__ = [
    "Bot",
    "BotSettings",
    "BrowserLaunchError",
    "BrowserNotFoundError",
    "BrowserRun",
    "FailureEvidence",
    "is_crash",
]


@dataclass
class BotSettings:
    """How a bot's browser is launched and how each run's context is set up."""

    base_url: str | None = None
    headless: bool = True
    timeout_ms: int = 10_000
    viewport: tuple[int, int] = (1280, 800)
    locale: str = "en-US"
    timezone: str = "UTC"
    downloads_dir: Path | None = None
    browser: str | None = None
    trace_on_failure: bool = False
    slow_mo_ms: int = 0
    block: tuple[str, ...] = ()
    """Requests each context refuses: `images`, `fonts`, `media`, `stylesheets` or URL patterns."""


class BrowserLaunchError(RuntimeError):
    """The browser was found but would not start."""


class Bot:
    """One Playwright browser for one bot; use `run_context()` for a fresh context per run or item.

        with Bot(BotSettings(base_url="http://127.0.0.1:8000")) as bot:
            with bot.run_context() as run:
                run.page.goto("/orders")

    Between runs, `prepare()` opens the next run's context ahead of time (see `bastidor.bots.warm`).
    """

    def __init__(self, settings: BotSettings | None = None) -> None:
        self.settings = settings or BotSettings()
        self.browser_choice: BrowserChoice | None = None
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._prepared: PreparedRun | None = None
        self.last_settings: BotSettings | None = None
        """The settings of the last `run_context`, which `prepare()` opens the next context with."""

    def __enter__(self) -> "Bot":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def browser(self) -> Browser:
        """The running browser; raises if the bot has not been started."""
        if self._browser is None:
            raise RuntimeError("the bot's browser is not running; call start() or use `with Bot(...)`")
        return self._browser

    def start(self) -> None:
        """Find a browser and launch it (does nothing if it is already running)."""
        if self._browser is not None:
            return
        self._playwright = _start_playwright()
        try:
            self.browser_choice = find_browser(self.settings.browser, playwright=self._playwright,
                                               headless=self.settings.headless)
            self._browser = self._launch(self.browser_choice)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Close the browser and Playwright; safe to call twice or after a crash."""
        self.discard_prepared()
        browser, playwright = self._browser, self._playwright
        self._browser, self._playwright = None, None
        if browser is not None:
            with suppress(PlaywrightError):
                browser.close()
        if playwright is not None:
            with suppress(PlaywrightError):
                playwright.stop()

    def restart(self) -> None:
        """Stop whatever is left of the browser and launch a new one."""
        self.stop()
        self.start()

    def is_healthy(self) -> bool:
        """True while the browser is running and connected."""
        return self._browser is not None and self._browser.is_connected()

    @contextmanager
    def run_context(self, settings: BotSettings | None = None) -> Iterator[BrowserRun]:
        """A fresh browser context and page for one run, closed when the block ends.

        `settings` overrides the bot's context settings (base URL, viewport, locale, timezone,
        timeout, downloads, tracing, blocked requests) for this run only. A context `prepare()` opened with
        the same settings is taken (its `warm` is then True); otherwise one is opened now.
        """
        run_settings = settings or self.settings
        self.last_settings = run_settings
        with _downloads_folder(run_settings.downloads_dir) as downloads_dir:
            run = self._take_prepared(run_settings) or self._new_run(run_settings)
            run.downloads_dir = downloads_dir
            try:
                yield run
            finally:
                run.close()

    def prepare(self, settings: BotSettings | None = None) -> bool:
        """Open the next run's context and page now, while the bot is idle, with `settings` (default: those
        of the last run, else the bot's own); returns whether one is ready. A prepared context that already
        fits is kept. Never raises: a browser that is gone or fails leaves nothing prepared, and the next run
        opens its context itself."""
        wanted = settings or self.last_settings or self.settings
        if self._prepared is not None and self._prepared.fits(wanted) and self.is_healthy():
            return True
        self.discard_prepared()
        if not self.is_healthy():
            return False
        try:
            self._prepared = PreparedRun(self._new_run(wanted), context_key(wanted))
        except PlaywrightError:
            return False
        return True

    def discard_prepared(self) -> None:
        """Close the context `prepare()` opened, if any."""
        prepared, self._prepared = self._prepared, None
        if prepared is not None:
            prepared.run.close()

    def _take_prepared(self, settings: BotSettings) -> BrowserRun | None:
        prepared, self._prepared = self._prepared, None
        if prepared is None:
            return None
        if prepared.fits(settings) and self.is_healthy():
            prepared.run.warm = True
            return prepared.run
        prepared.run.close()
        return None

    def _new_run(self, settings: BotSettings) -> BrowserRun:
        context, blocker = self._new_context(settings)
        try:
            return BrowserRun(context, downloads_dir=None, tracing=settings.trace_on_failure, blocker=blocker)
        except BaseException:
            with suppress(PlaywrightError):
                context.close()
            raise

    def _new_context(self, settings: BotSettings) -> tuple[BrowserContext, RequestBlocker | None]:
        context = self.browser.new_context(
            base_url=settings.base_url,
            viewport={"width": settings.viewport[0], "height": settings.viewport[1]},
            locale=settings.locale,
            timezone_id=settings.timezone,
            accept_downloads=True,
        )
        context.set_default_timeout(settings.timeout_ms)
        if not settings.block:
            return context, None
        blocker = RequestBlocker(settings.block)
        try:
            blocker.install(context)
        except BaseException:
            with suppress(PlaywrightError):
                context.close()
            raise
        return context, blocker

    def _launch(self, choice: BrowserChoice) -> Browser:
        assert self._playwright is not None
        try:
            return self._playwright.chromium.launch(
                executable_path=choice.executable_path,
                headless=self.settings.headless,
                args=launch_args(choice),
                slow_mo=self.settings.slow_mo_ms,
                # Ctrl-C or SIGTERM stops the run, which then records its outcome, saves its evidence and
                # closes the browser itself: Playwright's driver must not close it first.
                handle_sigint=False,
                handle_sigterm=False,
                handle_sighup=False,
            )
        except PlaywrightError as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise BrowserLaunchError(
                f"The browser {choice.description} was found but did not start: {first_line}. "
                "Check that it is a working Chromium or Chrome, or point BASTIDOR_BROWSER "
                "or the `browser` setting at another one."
            ) from exc


def _start_playwright() -> Playwright:
    try:
        return sync_playwright().start()
    except PlaywrightError as exc:
        raise BrowserLaunchError(
            "Playwright could not start in this thread, because an asyncio loop (or another bot) is "
            "already running in it. Give each bot its own thread or process."
        ) from exc


@contextmanager
def _downloads_folder(configured: Path | None) -> Iterator[Path]:
    """The configured downloads folder (created if needed), or a temporary one removed after the run."""
    if configured is not None:
        configured.mkdir(parents=True, exist_ok=True)
        yield configured
        return
    with tempfile.TemporaryDirectory(prefix="bastidor-downloads-") as temporary:
        yield Path(temporary)
