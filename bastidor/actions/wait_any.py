"""`wait_for_any`: wait for whichever of several outcomes shows first, then run that outcome's steps.

    - wait_for_any:
        - test_id: receipt-number
          outcome: receipt
          then:
            - extract_text: {test_id: receipt-number, into: order_number}
        - role: alert
          outcome: busy
          then:
            - extract_text: {role: alert, into: last_error}
        - url: "**/maintenance"
      into: answer
      timeout: 15s

Every outcome is looked at together, again and again, under one deadline (not one timeout after the
other), so the step answers as soon as the first one shows; when two show at the same moment, the one
written first wins. The matched outcome (its `outcome` word, else its number 1, 2 ...) is the step's
result and goes into `into`. The other outcomes' steps are recorded as not run. When none shows in time
the step fails with a timeout naming everything it waited for.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from pydantic import Field, WithJsonSchema, field_validator, model_validator

from bastidor.actions.base import Params
from bastidor.actions.page_outcomes import POLL_MS, is_showing, url_matches
from bastidor.actions.registry import action
from bastidor.actions.wording import StepWording, readable, readable_duration
from bastidor.expr import to_text
from bastidor.flow.model import NAME_PATTERN
from bastidor.flow.target import STRATEGIES, TargetFields
from bastidor.flow.types import DurationMs, Text

BRANCH_LABEL = "branch"
"""Path label of an outcome's steps: the steps of the second outcome of step 4 are `4.branch2.1`, ..."""

ELEMENT_KEYS = STRATEGIES + ("column",)
"""Keys that make an outcome an element (`column` names a table cell on its own)."""
StepList = Annotated[list[Any], WithJsonSchema({"type": "array", "items": {"type": "object"},
                                                "description": "Steps, each starting with '- '."})]


class WaitBranch(TargetFields):
    """One outcome: an element (target keys) or an address (`url`), and the steps to run when it shows first."""

    url: Text | None = Field(None, description="An address pattern, as in wait_for_url: * within a part, ** "
                             "across parts, e.g. \"**/orders/SO-*\".")
    outcome: Text | None = Field(None, description="A word for this outcome, stored in `into` when it shows "
                                 "first, e.g. receipt (default: the outcome's number, 1, 2 ...).")
    then: StepList = Field(default_factory=list, description="Steps to run when this outcome shows first.")

    @model_validator(mode="after")
    def _one_strategy(self) -> WaitBranch:
        """An outcome is one element (exactly one target) or one address, never both or neither."""
        targets = [key for key in ELEMENT_KEYS if getattr(self, key, None) is not None]
        if self.url is None and not targets:
            raise ValueError("each outcome needs what to wait for: one target (" + ", ".join(STRATEGIES)
                             + ") or url, e.g. - {test_id: receipt-number, then: [...]}")
        if self.url is None:
            return TargetFields._one_strategy(self)
        if targets:
            raise ValueError(f"an outcome waits for an element or for an address, not both: found url and "
                             f"{', '.join(targets)}; write them as two outcomes")
        return self

    def waited_for(self) -> str:
        """What this outcome waits for, in a failure message: `test id "receipt-number"`, `url "**/done"`."""
        return f'url "{self.url}"' if self.url is not None else self.describe()


class WaitForAnyParams(Params):
    """Wait for whichever of several outcomes shows first and run that outcome's steps."""

    nested_step_lists: ClassVar[dict[str, tuple[str, str]]] = {"wait_for_any": ("then", BRANCH_LABEL)}
    """Each outcome's `then` holds steps: they are parsed (and recorded) as the block `branchN` of the step."""

    branches: list[WaitBranch] = Field(alias="wait_for_any", description="The outcomes, each a target or url "
                                       "with optional then: steps.")
    timeout: DurationMs | None = Field(None, description="How long to wait for any of them (default: the bot's "
                                       "timeout).")
    into: str | None = Field(None, pattern=NAME_PATTERN, description="Variable that receives the outcome that "
                             "showed first (its outcome word, else its number).")

    @field_validator("branches")
    @classmethod
    def _some_branches(cls, branches: list[WaitBranch]) -> list[WaitBranch]:
        if not branches:
            raise ValueError("list the outcomes to wait for, each starting with '- ', e.g. "
                             "- {test_id: receipt-number, then: [...]}")
        return branches


def _describe(w: StepWording) -> str:
    branches = w.raw("wait_for_any") or []
    shown = ", or ".join(_outcome_words(branch) for branch in branches if isinstance(branch, dict))
    sentence = f"Wait for whichever shows first: {shown}"
    return sentence + (f"; note which in {w['into']:plain}" if w.has("into") else "")


def _outcome_words(branch: dict) -> str:
    what = f"the address {readable(branch['url'])}" if branch.get("url") is not None else \
        StepWording(None, branch).target  # type: ignore[arg-type]
    return what + (f" ({readable(branch['outcome'], quoted=False)})" if branch.get("outcome") is not None else "")


@action("wait_for_any", params=WaitForAnyParams, kind="control", shorthand="wait_for_any", describe=_describe)
def wait_for_any(ctx, params):
    """Wait for whichever of several outcomes shows first (one deadline for all), then run its steps."""
    timeout_ms = params.timeout if params.timeout is not None else ctx.timeout_ms
    number = _first_to_show(ctx, params.branches, timeout_ms)
    if number is None:
        _none_showed(ctx, params, timeout_ms)
    branch = params.branches[number - 1]
    outcome = to_text(ctx.render(branch.outcome)) if branch.outcome is not None else number
    if params.into:
        ctx.set_variable(params.into, outcome)
    try:
        blocks = ctx.node.blocks
        ctx.run_block(blocks.get(f"{BRANCH_LABEL}{number}", []), f"{BRANCH_LABEL}{number}")
    finally:
        _record_others_not_run(ctx, len(params.branches), number)
    return {"matched": number, "outcome": outcome, "waited_for": branch.waited_for()}


def _first_to_show(ctx: Any, branches: list[WaitBranch], timeout_ms: int) -> int | None:
    """The number (1, 2 ...) of the first outcome to show within the timeout, all looked at together."""
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        for number, branch in enumerate(branches, 1):
            if _shows(ctx, branch):
                return number
        left_ms = int((deadline - time.monotonic()) * 1000)
        if left_ms <= 0:
            return None
        ctx.page.wait_for_timeout(min(POLL_MS, left_ms))


def _shows(ctx: Any, branch: WaitBranch) -> bool:
    if branch.url is not None:
        return url_matches(ctx.page.url, to_text(ctx.render(branch.url)))
    return is_showing(ctx, branch)


def _none_showed(ctx: Any, params: WaitForAnyParams, timeout_ms: int) -> None:
    """Fail as a timeout (retry's `on: [timeout]` applies) naming every outcome waited for."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    waited = "; ".join(branch.waited_for() for branch in params.branches)
    limit = readable_duration(ctx.node.written["timeout"]) if "timeout" in ctx.node.written else \
        f"{(Decimal(timeout_ms) / 1000).normalize():f}s"
    from bastidor.executor.step_failure import step_position

    count = len(params.branches)
    source = "on this step" if "timeout" in ctx.node.written else "from the bot's settings"
    raise PlaywrightTimeout(f"{step_position(ctx.node)}: step {ctx.path} failed: none of the {count} "
                            f"outcome{'s' if count != 1 else ''} showed within {limit} (timeout: {source}); "
                            f"waited for: {waited}; if the page is only slow, raise timeout: on the step")


def _record_others_not_run(ctx: Any, count: int, matched: int) -> None:
    from bastidor.executor.engine import record_block_not_run

    for number in range(1, count + 1):
        label = f"{BRANCH_LABEL}{number}"
        if number != matched and ctx.node.blocks.get(label):
            record_block_not_run(ctx.state, ctx.scope, ctx.node.blocks[label], f"{ctx.path}.{label}")
