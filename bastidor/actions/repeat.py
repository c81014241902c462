"""`repeat`: run steps again until an outcome is reached, a bounded number of times.

    - set: {placed: false}
    - repeat: 5                                  # at most 5 attempts (default 3, at most 50)
      until: "{{ placed }}"                      # or until_visible: {test_id: receipt-number}
      unless_visible: {test_id: receipt-number}  # the guard: never submit again once the receipt shows
      pause: 2s
      steps:
        - click: {role: button, name: Place order}
        - ...

An attempt is one pass through the steps. A step that fails inside an attempt ends that attempt (the rest
of its steps are recorded as not run) and the next attempt begins; the outcome is checked only after an
attempt whose steps all passed. When the attempts (or the `timeout`) run out, the step fails with "gave up
after N attempts: ... never became true" and the last attempt's error. Business exceptions, postponements,
crashes and interruptions are never swallowed: they end the repeat at once. Each attempt's steps are
recorded under the path label `attemptN` (e.g. `4.attempt2.1`), so reports show every attempt.

The guard `unless_visible` is looked at before each attempt: when its element shows, the outcome is already
there (the receipt of an order the portal took although the click timed out), so the repeat ends without
running the steps again. After a failed attempt it waits up to its `timeout` for a late answer to show.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import Field, field_validator, model_validator

from bastidor.actions.assertion import Condition, shown_value
from bastidor.actions.base import Params
from bastidor.actions.page_outcomes import VisibleCheck, shows_within
from bastidor.actions.registry import action
from bastidor.actions.wording import StepWording, lone_expression, readable_duration
from bastidor.executor.errors import RunStopped, StepError, error_kind
from bastidor.flow.types import DurationMs

MAX_ATTEMPTS = 50
NEVER_SWALLOWED = ("business", "postponed", "crash", "interrupted")
"""Error kinds that end a repeat at once instead of counting as a failed attempt."""


class RepeatParams(Params):
    """Run steps again until a condition holds or an element shows, at most `max_attempts` times."""

    max_attempts: int = Field(3, alias="repeat", description="The most attempts, 1-50 (default 3): repeat: 5.")
    steps: list[Any] = Field(description="The steps of one attempt.")
    until: Condition | None = Field(None, description="Checked after each attempt, e.g. \"{{ placed }}\".")
    until_visible: VisibleCheck | None = Field(None, description="An element whose showing ends the repeat.")
    unless_visible: VisibleCheck | None = Field(None, description="The guard: when this element shows before "
                                                "an attempt, the outcome is already there and the repeat ends; "
                                                "after a failed attempt, it is given up to its timeout to show.")
    pause: DurationMs = Field(0, description="Pause between attempts, e.g. 2s (`wait` is a step of its own).")
    timeout: DurationMs | None = Field(None, description="Overall limit: no attempt starts after it.")

    @field_validator("max_attempts")
    @classmethod
    def _bounded(cls, value: int) -> int:
        if not 1 <= value <= MAX_ATTEMPTS:
            raise ValueError(f"the number of attempts must be 1 to {MAX_ATTEMPTS}, got {value}; to keep trying for "
                             "longer, pause between attempts, e.g. pause: 30s")
        return value

    @model_validator(mode="after")
    def _one_outcome(self) -> RepeatParams:
        given = [key for key in ("until", "until_visible") if getattr(self, key) is not None]
        if not given:
            raise ValueError("needs until: \"{{ condition }}\" (checked after each attempt) or until_visible: "
                             "{target} to know when to stop; to try one failing step again, give that step "
                             "retry: instead")
        if len(given) > 1:
            raise ValueError("give one of until or until_visible, not both")
        return self


def _describe(w: StepWording) -> str:
    goal = f"until {w['until']}" if w.has("until") else f"until {_element(w, 'until_visible')} shows"
    sentence = f"Repeat the steps below, up to {w['repeat']:plain} times, {goal}"
    if w.has("unless_visible"):
        sentence += f"; stop without trying again once {_element(w, 'unless_visible')} shows"
    return sentence + w.options(pause="pause between attempts")


def _element(w: StepWording, key: str) -> str:
    written = w.raw(key)
    return StepWording(w.params, written if isinstance(written, dict) else {}).target


@action("repeat", params=RepeatParams, kind="control", shorthand="repeat", blocks=("steps",),
        describe=_describe)
def repeat(ctx, params):
    """Run the steps again until the outcome is reached (a condition or an element), a bounded number of times."""
    deadline = time.monotonic() + params.timeout / 1000 if params.timeout is not None else None
    last_error: Exception | None = None
    attempt = 0
    while attempt < params.max_attempts and (attempt == 0 or not _past(deadline)):
        attempt += 1
        if params.unless_visible is not None and _already_there(ctx, params.unless_visible, last_error):
            _record_skipped(ctx, attempt)
            return {"attempts": attempt - 1, "outcome": "already there", "guard": params.unless_visible.describe()}
        last_error = _one_attempt(ctx, attempt)
        if last_error is None and _reached(ctx, params):
            return {"attempts": attempt, "outcome": "reached"}
        if attempt < params.max_attempts and params.pause:
            (ctx.state.sleep or time.sleep)(params.pause / 1000)
    timed_out = attempt < params.max_attempts
    raise StepError(_gave_up(ctx, params, attempt, last_error, timed_out=timed_out))


def _one_attempt(ctx: Any, attempt: int) -> Exception | None:
    """Run the steps once; the error that ended the attempt, or None when every step passed."""
    try:
        ctx.run_block(ctx.node.blocks["steps"], f"attempt{attempt}")
    except RunStopped:
        raise
    except Exception as error:  # a failed attempt: counted, and the next one begins (see the module docs)
        if error_kind(error) in NEVER_SWALLOWED:
            raise
        return error
    return None


def _already_there(ctx: Any, guard: VisibleCheck, last_error: Exception | None) -> bool:
    """The guard. After an attempt that failed (a click that timed out, say), the portal's answer may still be
    on its way: give it up to the guard's timeout to show. Otherwise (before the first attempt, or after one
    whose steps all passed) the page is known: look once."""
    return shows_within(ctx, guard, None if last_error is not None else 0)


def _record_skipped(ctx: Any, attempt: int) -> None:
    from bastidor.executor.engine import record_block_not_run

    record_block_not_run(ctx.state, ctx.scope, ctx.node.blocks["steps"], f"{ctx.path}.attempt{attempt}")


def _reached(ctx: Any, params: RepeatParams) -> bool:
    if params.until_visible is not None:
        return shows_within(ctx, params.until_visible)
    value = ctx.render(params.until)
    if not isinstance(value, bool):
        raise StepError(f"until must be true or false; {_until_text(params)} gave {shown_value(ctx, value)}")
    return value


def _until_text(params: RepeatParams) -> str:
    if params.until is not None:
        return lone_expression(params.until) or params.until
    return params.until_visible.describe()


def _gave_up(ctx: Any, params: RepeatParams, attempts: int, last_error: Exception | None, *,
             timed_out: bool) -> str:
    outcome = "never became true" if params.until is not None else "never became visible"
    limit = readable_duration(ctx.node.written.get("timeout"))
    why = f" (its timeout of {limit} was reached)" if timed_out else ""
    from bastidor.executor.step_failure import step_position

    text = (f"{step_position(ctx.node)}: step {ctx.path} gave up after {attempts} attempt"
            f"{'s' if attempts != 1 else ''}{why}: {_until_text(params)} {outcome}")
    if last_error is not None:
        from bastidor.executor.status import describe_error

        text += f"; the last attempt failed: {describe_error(last_error)}"
    raise_what = "timeout:" if timed_out else "the number after repeat:"
    return text + f"; to try longer, raise {raise_what} on the step"


def _past(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() >= deadline
