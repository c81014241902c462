"""Browser steps that save evidence and files: screenshots (of the page or one element), PDFs, downloads,
and dialog answers. Screenshots and PDFs are recorded with their SHA-256, which `audit verify` checks."""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import Field

from bastidor.actions.base import ElementParams, Into, Params, Waits, element, timeout_of
from bastidor.actions.registry import action
from bastidor.actions.wording import StepWording
from bastidor.executor.errors import StepError
from bastidor.expr import to_text
from bastidor.flow.target import TargetFields
from bastidor.flow.types import Text


class ScreenshotParams(Params, Waits):
    """Save a screenshot of the page, or of one element of it."""

    name: Text = Field(description="File name (without .png) inside the run's screenshots folder.")
    full_page: bool = Field(True, description="The whole page (true) or only what the window shows (false).")
    target: TargetFields | None = Field(None, description="Only this element, e.g. {test_id: order-total}.")


def _screenshot_words(w) -> str:
    if not w.has("target"):
        return f"Take a screenshot of the page as {w['name']:plain}.png (secret fields masked)"
    element = StepWording(w.params, w.raw("target")).target
    return f"Take a screenshot of {element} as {w['name']:plain}.png (secret fields masked)"


@action("screenshot", params=ScreenshotParams, kind="browser", shorthand="name", describe=_screenshot_words)
def screenshot(ctx, params):
    """Save a screenshot of the page, or of one element, into the run folder (secrets masked)."""
    relative = f"screenshots/{to_text(params.name)}.png"
    path = ctx.output_path(relative)
    element_only = _element_of(ctx, params.target) if params.target is not None else None
    digest = ctx.state.browser.masked_screenshot(path, ctx.state.secret_targets, ctx.state.masker.values(),
                                                 element=element_only, full_page=params.full_page,
                                                 timeout_ms=timeout_of(ctx, params))
    return {"screenshot": relative, "screenshot_sha256": digest}


def _element_of(ctx, target) -> object:
    """The locator for a nested `target:` (its `{{ }}` already worked out with the step's settings)."""
    fields = target if isinstance(target, dict) else target.model_dump(exclude_unset=True)
    return element(ctx, TargetFields.model_construct(**fields))


class SavePdfParams(Params):
    """Print the page to a PDF file."""

    path: Text = Field(description="The PDF's file name; relative paths go into the run folder.")
    paper: Literal["A4", "A3", "A5", "Letter", "Legal", "Tabloid"] = Field("A4", description="Paper size.")
    landscape: bool = Field(False, description="Print across the long side of the paper.")


@action("save_pdf", params=SavePdfParams, kind="browser", shorthand="path",
        describe=lambda w: f"Save the page as the PDF {w['path']:plain} (secret fields left blank)"
        + w.options(paper="paper", landscape="landscape"))
def save_pdf(ctx, params):
    """Print the page to a PDF in the run folder, kept as evidence with its SHA-256 (secret fields left blank)."""
    holder = ctx.state.browser
    if not holder.spec.headless or holder.headed:
        raise StepError("save_pdf needs the browser without a window: Chromium prints PDFs only when headless; "
                        "run without --headed and without bot: {headless: false}")
    written = to_text(params.path)
    path = ctx.output_path(written if written.lower().endswith(".pdf") else f"{written}.pdf")
    digest = holder.masked_pdf(path, ctx.state.secret_targets, ctx.state.masker.values(), paper=params.paper,
                               landscape=params.landscape)
    return {"file": _in_run_folder(ctx, path), "sha256": digest}


def _in_run_folder(ctx, path) -> str:
    """`path` relative to the run folder when it is inside it (so a moved run folder still verifies)."""
    try:
        return path.resolve().relative_to(ctx.state.run_dir.resolve()).as_posix()
    except ValueError:
        return str(path)


class DownloadParams(ElementParams):
    """Click something that downloads a file, and keep the file."""

    save_as: Text = Field(description="File name to save as; relative paths go into the run folder.")
    into: str | None = Field(None, description="Variable that receives the saved file's path.")


@action("download", params=DownloadParams, kind="browser",
        describe=lambda w: f"Click {w.target} and save the downloaded file as {w['save_as']}"
        + (f" (its path into {w['into']:plain})" if w.has("into") else ""))
def download(ctx, params):
    """Click a link or button that downloads a file and save the file."""
    with ctx.page.expect_download(timeout=timeout_of(ctx, params)) as info:
        element(ctx, params).click(timeout=timeout_of(ctx, params))
    path = ctx.output_path(to_text(params.save_as))
    info.value.save_as(path)
    if params.into:
        ctx.set_variable(params.into, str(path))
    return {"file": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


class DialogParams(Params):
    """How to answer the page's next dialogs (alert, confirm, prompt)."""

    answer: Literal["accept", "dismiss"] = Field(description="accept (OK) or dismiss (Cancel).")
    prompt_text: Text | None = Field(None, description="Text to type into a prompt dialog.")


class LastDialogParams(Params, Into):
    """Read the message of the last dialog."""


@action("dialog", params=DialogParams, kind="browser", shorthand="answer",
        describe=lambda w: ("Accept" if w.raw("answer") == "accept" else "Dismiss") + " the next dialogs of the page"
        + (f", typing {w['prompt_text']} into prompts" if w.has("prompt_text") else ""))
def dialog(ctx, params):
    """Set how the next dialogs are answered: accept or dismiss."""
    prompt = to_text(params.prompt_text) if params.prompt_text is not None else None
    ctx.browser.set_dialog_policy(params.answer, prompt_text=prompt)


@action("last_dialog", params=LastDialogParams, kind="browser", shorthand="into",
        describe="Read the message of the last dialog into {into:plain}")
def last_dialog(ctx, params):
    """Store the message of the last dialog the page showed."""
    ctx.set_variable(params.into, ctx.browser.last_dialog_message)
