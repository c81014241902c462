"""One run's browser context and page: screenshots, traces, dialogs and downloads."""

from __future__ import annotations

import hashlib
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Literal

from playwright.sync_api import BrowserContext, Dialog, Download, Locator, Page
from playwright.sync_api import Error as PlaywrightError

if TYPE_CHECKING:
    from .blocking import RequestBlocker

DialogAnswer = Literal["accept", "dismiss"]
_CLEAR_STORAGE = """([local, session]) => {
  try { if (local) localStorage.clear(); if (session) sessionStorage.clear(); } catch (error) { /* no storage here */ }
}"""


@dataclass(frozen=True)
class FailureEvidence:
    """What was saved when a run failed: a screenshot (with its SHA-256) and, if tracing, a trace."""

    screenshot: Path | None
    screenshot_sha256: str | None
    trace: Path | None


class BrowserRun:
    """A fresh browser context and its page for one run, with the evidence and event handling a run needs.

    Creating it opens the run's page and, when `tracing`, starts recording a trace of actions and DOM
    snapshots. Screencast frames are left out on purpose: they are images, so secret values typed into
    the page could not be scrubbed from them the way text entries can.

    Dialogs are answered by the current policy (dismiss unless `set_dialog_policy` says otherwise).
    Downloads are saved into `downloads_dir` as they finish; their paths collect in `downloads`. A context
    opened ahead of its run (`warm`) gets the run's downloads folder when the run takes it.
    """

    def __init__(self, context: BrowserContext, *, downloads_dir: Path | None, tracing: bool,
                 blocker: "RequestBlocker | None" = None) -> None:
        self.context = context
        self.downloads_dir = downloads_dir
        self.warm = False
        """True when this context was opened ahead of its run, while the bot was idle (see `Bot.prepare`)."""
        self._blocker = blocker
        self.downloads: list[Path] = []
        self.dialog_messages: list[str] = []
        self._dialog_answer: DialogAnswer = "dismiss"
        self._prompt_text: str | None = None
        self._tracing = tracing
        if tracing:
            context.tracing.start(screenshots=False, snapshots=True)
        context.on("page", self._watch_page)
        self.page: Page = context.new_page()

    @property
    def last_dialog_message(self) -> str | None:
        """The message of the most recent alert, confirm or prompt, or None if there was none."""
        return self.dialog_messages[-1] if self.dialog_messages else None

    @property
    def blocked_requests(self) -> int | None:
        """How many requests `bot: {block: [...]}` refused in this context so far (None: none are blocked)."""
        return self._blocker.blocked if self._blocker is not None else None

    @property
    def tracing(self) -> bool:
        """True while a trace is being recorded and has not been saved yet."""
        return self._tracing

    def set_dialog_policy(self, answer: DialogAnswer, prompt_text: str | None = None) -> None:
        """Answer the next dialogs with `answer`; prompts that are accepted receive `prompt_text`."""
        if answer not in ("accept", "dismiss"):
            raise ValueError(f'dialog answer must be "accept" or "dismiss", not {answer!r}')
        self._dialog_answer = answer
        self._prompt_text = prompt_text

    def screenshot(self, path: str | Path, *, mask: Iterable[Locator] = (), element: Locator | None = None,
                   full_page: bool = True, timeout_ms: float | None = None) -> str:
        """Save a PNG to `path`, covering `mask` elements, and return its SHA-256 hex digest: the whole page
        (`full_page`, else what the window shows), or only `element` when one is given."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        if element is not None:
            image = element.screenshot(path=target, mask=list(mask), type="png", timeout=timeout_ms)
        else:
            image = self.page.screenshot(path=target, full_page=full_page, mask=list(mask), type="png",
                                         timeout=timeout_ms)
        return hashlib.sha256(image).hexdigest()

    def save_pdf(self, path: str | Path, *, paper: str = "A4", landscape: bool = False) -> str:
        """Print the page to a PDF at `path` (Chromium without a window only) and return its SHA-256."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        document = self.page.pdf(path=target, format=paper, landscape=landscape, print_background=True)
        return hashlib.sha256(document).hexdigest()

    def clear_storage(self, *, cookies: bool = True, local: bool = True, session: bool = True) -> None:
        """Forget what sites stored in this context: its cookies, the local storage of every origin it
        visited, and the session storage of its open pages."""
        if cookies:
            self.context.clear_cookies()
        if local:
            self._clear_local_storage()
        if local or session:
            for page in self.context.pages:
                for frame in page.frames:
                    with suppress(PlaywrightError):  # a frame that navigates away keeps nothing to clear
                        frame.evaluate(_CLEAR_STORAGE, [local, session])

    def _clear_local_storage(self) -> None:
        origins = [entry["origin"] for entry in self.context.storage_state().get("origins", [])]
        if not origins:
            return
        devtools = self.context.new_cdp_session(self.page)
        try:
            for origin in origins:
                devtools.send("Storage.clearDataForOrigin", {"origin": origin, "storageTypes": "local_storage"})
        finally:
            devtools.detach()

    def save_trace(self, path: str | Path) -> Path:
        """Stop tracing and write the trace zip to `path` (open it with `playwright show-trace`)."""
        if not self._tracing:
            raise RuntimeError("this run is not recording a trace; turn on trace_on_failure in the bot settings")
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        self._tracing = False
        self.context.tracing.stop(path=target)
        return target

    def capture_failure(self, directory: str | Path, *, mask: Iterable[Locator] = ()) -> FailureEvidence:
        """Save a screenshot (and the trace, if recording) into `directory`; missing parts stay None.

        Never raises for a browser that is already gone: a crash leaves nothing to photograph.
        """
        folder = Path(directory)
        shot, digest, trace = None, None, None
        with suppress(PlaywrightError):
            digest = self.screenshot(folder / "failure.png", mask=mask)
            shot = folder / "failure.png"
        if self._tracing:
            with suppress(PlaywrightError):
                trace = self.save_trace(folder / "trace.zip")
        return FailureEvidence(shot, digest, trace)

    def close(self) -> None:
        """Discard an unsaved trace and close the context; safe when the browser is already gone."""
        if self._tracing:
            self._tracing = False
            with suppress(PlaywrightError):
                self.context.tracing.stop()
        with suppress(PlaywrightError):
            self.context.close()

    def _watch_page(self, page: Page) -> None:
        page.on("dialog", self._answer_dialog)
        page.on("download", self._save_download)

    def _answer_dialog(self, dialog: Dialog) -> None:
        self.dialog_messages.append(dialog.message)
        with suppress(PlaywrightError):
            if self._dialog_answer == "accept":
                dialog.accept(*([self._prompt_text] if self._prompt_text is not None else []))
            else:
                dialog.dismiss()

    def _save_download(self, download: Download) -> None:
        if self.downloads_dir is None:  # a context opened ahead of its run, not taken yet: nothing to keep
            with suppress(PlaywrightError):
                download.cancel()
            return
        target = _free_path(self.downloads_dir / Path(download.suggested_filename).name)
        with suppress(PlaywrightError):  # a cancelled or failed download is simply not listed
            download.save_as(target)
            self.downloads.append(target)


def _free_path(wanted: Path) -> Path:
    """`wanted`, or `name (1).ext`, `name (2).ext`... if a file of that name is already there."""
    candidate, number = wanted, 1
    while candidate.exists():
        candidate = wanted.with_name(f"{wanted.stem} ({number}){wanted.suffix}")
        number += 1
    return candidate
