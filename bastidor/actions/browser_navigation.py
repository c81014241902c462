"""Browser steps that move between pages and wait for the page to be ready."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from bastidor.actions.base import ElementParams, Params, Waits, element, timeout_of
from bastidor.actions.registry import action
from bastidor.expr import to_text
from bastidor.flow.types import Text


class OpenParams(Params, Waits):
    """Open a page."""

    url: Text = Field(description="Address to open; relative to the bot's base_url, e.g. /orders/new.")


@action("open", params=OpenParams, kind="browser", shorthand="url", describe="Open {url:plain}")
def open_page(ctx, params):
    """Open a page by its address."""
    ctx.page.goto(to_text(params.url), timeout=timeout_of(ctx, params))


class WaitForParams(ElementParams):
    """Wait until an element reaches a state."""

    state: Literal["visible", "hidden", "attached", "detached"] = "visible"


@action("wait_for", params=WaitForParams, kind="browser", describe="Wait until {target} is {state:plain}")
def wait_for(ctx, params):
    """Wait until an element is visible, hidden, attached or detached."""
    element(ctx, params).wait_for(state=params.state, timeout=timeout_of(ctx, params))


class WaitForTextParams(Params, Waits):
    """Wait until a text shows on the page."""

    text: Text = Field(description="Text to wait for: part of a visible element's text, in any case.")
    exact: bool = Field(False, description="Wait for an element whose whole text is exactly this, case included.")


@action("wait_for_text", params=WaitForTextParams, kind="browser", shorthand="text",
        describe=lambda w: f"Wait until the text {w['text']} shows on the page"
                           + (" (the whole text, exactly)" if w.raw("exact") else ""))
def wait_for_text(ctx, params):
    """Wait until a text is visible somewhere on the page; hidden copies of it are ignored."""
    from bastidor.bots.locate import text_matcher

    matcher = text_matcher(to_text(params.text), params.exact)
    shown = ctx.page.get_by_text(matcher).filter(visible=True).first
    shown.wait_for(state="visible", timeout=timeout_of(ctx, params))


class WaitForUrlParams(Params, Waits):
    """Wait until the address matches."""

    url: Text = Field(description="Address pattern: * matches within a path part, ** across parts.")


@action("wait_for_url", params=WaitForUrlParams, kind="browser", shorthand="url",
        describe="Wait until the page address matches {url}")
def wait_for_url(ctx, params):
    """Wait until the page's address matches a pattern such as **/orders/SO-*."""
    ctx.page.wait_for_url(to_text(params.url), timeout=timeout_of(ctx, params))

