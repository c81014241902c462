"""Calculation steps: set variables from expressions, collect rows, and log a message."""

from __future__ import annotations

import re
import time
from typing import Any

from pydantic import ConfigDict, Field, model_validator

from bastidor.actions.base import Params
from bastidor.actions.registry import action
from bastidor.flow.model import NAME_PATTERN
from bastidor.flow.types import DurationMs, Text

_NAME = re.compile(NAME_PATTERN)


class SetParams(Params):
    """Variables to set, each `name: value`; values may use {{ }} and see the ones set above them."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"additionalProperties": True})

    @model_validator(mode="after")
    def _names(self):
        if not self.model_extra:
            raise ValueError("give at least one variable, e.g. set: {total: \"{{ qty * price }}\"}")
        for name in self.model_extra:
            if not _NAME.match(str(name)):
                raise ValueError(f"'{name}' is not a variable name: start with a letter, use letters, "
                                 "digits and _")
        return self


@action("set", params=SetParams, kind="calculation", defines=lambda p: p.model_extra or {},
        describe=lambda w: "Set " + w.listing("{key} to {value}"))
def set_variables(ctx, params):
    """Set variables from values or expressions, in the order written."""
    for name, value in (params.model_extra or {}).items():
        ctx.set_variable(name, ctx.render(value))
    return {"values": {name: ctx.variables[name] for name in params.model_extra}}


class AppendToParams(Params):
    """Add a value (usually a row) to a list variable, creating the list if needed."""

    list_name: str = Field(alias="list", pattern=NAME_PATTERN, description="The list variable.")
    value: Any = Field(description="What to add, e.g. a mapping of column: value.")


@action("append_to", params=AppendToParams, kind="calculation", defines=lambda p: {p.list_name},
        describe="Add to the list {list:plain}: {value}")
def append_to(ctx, params):
    """Add a value to a list variable (e.g. collect result rows to write at the end)."""
    current = ctx.variables.get(params.list_name)
    current = list(current) if isinstance(current, list) else []
    current.append(ctx.render(params.value))
    ctx.set_variable(params.list_name, current)


class WaitParams(Params):
    """Pause for a fixed time."""

    duration: DurationMs = Field(alias="wait", description="How long to pause, e.g. 2s.")


@action("wait", params=WaitParams, kind="calculation", shorthand="wait",
        describe=lambda w: f"Pause for {w.duration('wait')}")
def wait(ctx, params):
    """Pause for a fixed time (prefer wait_for steps that wait for the page itself)."""
    time.sleep(params.duration / 1000)


class LogParams(Params):
    """A message for the audit log and the console."""

    message: Text


@action("log", params=LogParams, kind="calculation", shorthand="message",
        describe="Write to the audit log: {message}")
def log(ctx, params):
    """Write a message (with {{ }} values) to the audit log and the console. The rendered message is the
    step's result, so the run store's reports show it (masked: a message computed from a secret is ***)."""
    message = str(ctx.render(params.message))
    ctx.state.progress.logged(ctx, ctx.state.masker.mask_text(message))
    return {"message": message}
