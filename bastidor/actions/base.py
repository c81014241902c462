"""Building blocks shared by step types: common params and helpers to reach the page."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bastidor.expr.taint import contains_taint
from bastidor.flow.model import NAME_PATTERN
from bastidor.flow.target import TargetError, TargetFields
from bastidor.flow.types import DurationMs


class Params(BaseModel):
    """Base for a step's params: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class Waits(BaseModel):
    """A step that waits may set its own timeout."""

    timeout: DurationMs | None = Field(None, description="How long to wait (default: the bot's timeout).")


class Into(BaseModel):
    """A step that produces a value stores it in a variable."""

    into: str = Field(pattern=NAME_PATTERN, description="Variable that receives the value.")


class ElementParams(Waits, TargetFields):
    """A step that acts on one element of the page."""


def timeout_of(ctx: Any, params: Any) -> int:
    """The step's timeout in milliseconds, or the bot's default."""
    return params.timeout if params.timeout is not None else ctx.timeout_ms


def element(ctx: Any, params: TargetFields) -> Any:
    """The Playwright locator for the step's target on the current page.

    The target's `{{ }}` were worked out with the step's other settings; a value that cannot name an
    element (`nth` that came out as -1, an unknown role) fails the step with a sentence saying so."""
    from bastidor.bots.locate import locate
    from bastidor.executor.errors import StepError

    try:
        return locate(ctx.page, params, test_id_attribute=flow_test_id_attribute(ctx))
    except TargetError as error:
        raise StepError(f"{params.describe()}: {error}") from None


def flow_test_id_attribute(ctx: Any) -> str:
    """The attribute `test_id:` targets read: the flow's `bot.test_id_attribute` (default data-testid)."""
    bot = ctx.state.flow.header.bot
    return bot.test_id_attribute if bot is not None else "data-testid"


_ICON_GLYPHS = re.compile("[\ue000-\uf8ff]")


def shown_text(raw: str) -> str:
    """An element's text as a person reads it: icon-font glyphs (Private Use Area characters) left out,
    and without the whitespace around it."""
    return _ICON_GLYPHS.sub("", raw).strip()


def holds_secret(value: Any) -> bool:
    """Whether a step's rendered value is, holds or was computed from a secret (it is tainted)."""
    return contains_taint(value)


def mask_in_screenshots(ctx: Any, locator: Any) -> None:
    """Black out `locator` (a field that received a secret) in the run's screenshots from now on."""
    targets = ctx.state.secret_targets
    if not any(repr(known) == repr(locator) for known in targets):
        targets.append(locator)
