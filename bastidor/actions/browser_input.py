"""Browser steps that put data into the page: fill, type, click, select, check, upload, press."""

from __future__ import annotations

from pydantic import Field, model_validator

from bastidor.actions.base import ElementParams, element, holds_secret, mask_in_screenshots, timeout_of
from bastidor.actions.registry import action
from bastidor.executor.errors import StepError
from bastidor.expr import to_text
from bastidor.expr.taint import plain
from bastidor.flow.target import STRATEGIES
from bastidor.flow.types import Text


class FillParams(ElementParams):
    """Fill a field: the target and the value."""

    value: Text = Field(description="Text to put in the field; may use {{ }}.")


@action("fill", params=FillParams, kind="browser", describe="Fill {target} with {value}")
def fill(ctx, params):
    """Clear a field and fill in a value."""
    locator = element(ctx, params)
    if holds_secret(params.value):
        mask_in_screenshots(ctx, locator)
    locator.fill(plain(to_text(params.value)), timeout=timeout_of(ctx, params))


class TypeParams(ElementParams):
    """Type text key by key into a field."""

    text_to_type: Text = Field(alias="keys", description="Text to type, one key at a time.")
    delay: int = Field(0, ge=0, le=1000, description="Milliseconds between keys.")


@action("type", params=TypeParams, kind="browser", describe="Type {keys} key by key into {target}")
def type_text(ctx, params):
    """Type text key by key, for fields that react to each key press."""
    locator = element(ctx, params)
    if holds_secret(params.text_to_type):
        mask_in_screenshots(ctx, locator)
    keys = plain(to_text(params.text_to_type))
    locator.press_sequentially(keys, delay=params.delay, timeout=timeout_of(ctx, params))


class ClickParams(ElementParams):
    """Click an element."""

    double: bool = Field(False, description="Double-click instead of a single click.")


@action("click", params=ClickParams, kind="browser",
        describe=lambda w: ("Double-click " if w.raw("double") else "Click ") + w.target)
def click(ctx, params):
    """Click a button, link or any element."""
    locator = element(ctx, params)
    if params.double:
        locator.dblclick(timeout=timeout_of(ctx, params))
    else:
        locator.click(timeout=timeout_of(ctx, params))


class SelectParams(ElementParams):
    """Choose an option in a drop-down."""

    option: Text = Field(description="The option's visible text or its value.")


@action("select", params=SelectParams, kind="browser", describe="Choose {option} in {target}")
def select(ctx, params):
    """Choose an option of a drop-down list by its text or value."""
    locator = element(ctx, params)
    if holds_secret(params.option):
        mask_in_screenshots(ctx, locator)
    locator.select_option(plain(to_text(params.option)), timeout=timeout_of(ctx, params))


@action("check", params=ElementParams, kind="browser", describe="Tick {target}")
def check(ctx, params):
    """Tick a checkbox or choose a radio button."""
    element(ctx, params).check(timeout=timeout_of(ctx, params))


@action("uncheck", params=ElementParams, kind="browser", describe="Clear the tick of {target}")
def uncheck(ctx, params):
    """Clear a checkbox."""
    element(ctx, params).uncheck(timeout=timeout_of(ctx, params))


class UploadParams(ElementParams):
    """Put a file into a file input."""

    file: Text = Field(description="File to upload; relative paths are taken from the flow's folder.")


@action("upload", params=UploadParams, kind="browser", describe="Put the file {file} into {target}")
def upload(ctx, params):
    """Choose a file in a file-upload field."""
    path = ctx.input_path(to_text(params.file))
    if not path.is_file():
        raise StepError(f"file to upload not found: {path}")
    element(ctx, params).set_input_files(str(path), timeout=timeout_of(ctx, params))


FOCUSED = ":focus"


class PressParams(ElementParams):
    """Press a key, in a field or (with no target) wherever the focus is."""

    key: str = Field(description="Key to press, e.g. Enter, Tab, Escape, Control+A.")

    @model_validator(mode="before")
    @classmethod
    def _target_optional(cls, data):
        if isinstance(data, dict) and not any(data.get(key) is not None for key in STRATEGIES):
            return {**data, "css": FOCUSED}
        return data


@action("press", params=PressParams, kind="browser", shorthand="key",
        describe=lambda w: f"Press the key {w['key']:plain}" + (f" in {w.target}" if w.has_target else ""))
def press(ctx, params):
    """Press a key, in the given field or wherever the focus is."""
    if params.css == FOCUSED:
        ctx.page.keyboard.press(params.key)
    else:
        element(ctx, params).press(params.key, timeout=timeout_of(ctx, params))
