"""Browser steps that save evidence and files: screenshots, downloads, and dialog answers."""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import Field

from bastidor.actions.base import ElementParams, Into, Params, element, timeout_of
from bastidor.actions.registry import action
from bastidor.expr import to_text
from bastidor.flow.types import Text


class ScreenshotParams(Params):
    """Save a screenshot of the page."""

    name: Text = Field(description="File name (without .png) inside the run's screenshots folder.")
    full_page: bool = True


@action("screenshot", params=ScreenshotParams, kind="browser", shorthand="name",
        describe="Take a screenshot of the page as {name:plain}.png (secret fields masked)")
def screenshot(ctx, params):
    """Save a screenshot of the page into the run folder (fields and page text holding secrets are masked)."""
    relative = f"screenshots/{to_text(params.name)}.png"
    path = ctx.output_path(relative)
    digest = ctx.state.browser.masked_screenshot(path, ctx.state.secret_targets, ctx.state.masker.values())
    return {"screenshot": relative, "screenshot_sha256": digest}


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
