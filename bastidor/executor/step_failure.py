"""A failed browser step, explained in a few lines an analyst can act on.

    flows/orders.yaml:14:5: step 3[2].4 failed: Fill the field labelled 'Frist name' with order.first
      looked for: label "Frist name"
      nothing on the page matches it
      did you mean label 'First name'?
      waited 2s (timeout: 2s, from the bot's timeout:); if the page is only slow, raise timeout: on the step

The first line says where the step is written (`file:line:column`) and what it does; then what it looked
for (its target after `{{ }}` were worked out, masked), what went wrong, what the page has that is close
(read from the page once, after the failure, see `bastidor.bots.page_inventory`) and, for a timeout, the
`timeout:` that ran out. Playwright's own message and call log are kept as `raw` for the audit log and the
report, masked, and never printed. Secrets are masked throughout, and a target computed from a secret gets
no near matches (they would show what the secret is close to).
"""

from __future__ import annotations

from typing import Any, Mapping

from bastidor.executor.errors import AssertionFailed, BrowserStepFailed, error_kind
from bastidor.expr.taint import contains_taint, tainted_leaves

MAX_WORDS = 160
MAX_PROBLEM_LINES = 3
MAX_RAW = 8000
TARGET_KEYS = ("label", "role", "text", "placeholder", "test_id", "css", "xpath", "column")


def explain_failure(ctx: Any, error: BaseException, details: Mapping[str, Any]) -> BaseException:
    """`error` as a `BrowserStepFailed` when it ended a browser step (a missing element, a timeout, a failed
    check ...); any other error (a business exception, a crash, an interruption) unchanged."""
    if not _explainable(ctx, error):
        return error
    values = details.get("values") or {}
    facts = _playwright_facts(error)
    looked_for = shown_target(ctx, values)
    lines = [f"{_where(ctx.node)}: step {ctx.path} failed: {step_in_words(ctx.node)}"]
    if looked_for:
        lines.append(f"  looked for: {looked_for}")
    lines += ["  " + line for line in _problem(ctx, error, facts, values)]
    lines += ["  " + line for line in _hints(ctx, error, facts, values)]
    if facts is not None and facts.timeout_ms is not None:
        lines.append("  " + timeout_line(ctx, values, facts.timeout_ms))
    return BrowserStepFailed(_masked(ctx, "\n".join(lines), values), raw=_masked(ctx, str(error)[:MAX_RAW], values),
                             kind=error_kind(error))


def _explainable(ctx: Any, error: BaseException) -> bool:
    if ctx.node.spec.kind != "browser" or isinstance(error, BrowserStepFailed) or not isinstance(error, Exception):
        return False
    return error_kind(error) in ("timeout", "assertion", "error")


def _playwright_facts(error: BaseException) -> Any:
    if "playwright" not in type(error).__module__:
        return None
    from bastidor.bots.playwright_failures import read_failure

    return read_failure(str(error))


def step_position(node: Any) -> str:
    """Where the step is written: `file:line:column`."""
    return f"{node.file}:{node.line}:{node.column}"


_where = step_position


def step_in_words(node: Any) -> str:
    """The step as the procedure reads: its `name:` and what it does ("Fill the field labelled ...")."""
    try:
        sentence = node.spec.sentence(node.params, node.written)
    except Exception:  # a wording that cannot be made must not hide the failure itself
        sentence = None
    sentence = sentence or node.title()
    words = f"{node.name} ({sentence})" if node.name and node.name != sentence else sentence
    return words if len(words) <= MAX_WORDS else words[:MAX_WORDS - 3] + "..."


def target_values(values: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The target keys among a step's rendered values (or its nested `target:`), or None."""
    if any(values.get(key) is not None for key in TARGET_KEYS):
        return values
    nested = values.get("target")
    return nested if isinstance(nested, Mapping) else None


def shown_target(ctx: Any, values: Mapping[str, Any]) -> str | None:
    """What the step looked for, from its rendered values and masked: `label "Quantity"`, a page address
    or a text; None for a step that looks for nothing."""
    target = target_values(values)
    if target is not None:
        return describe_target_values(ctx.state.masker.mask(dict(target)))
    masked = ctx.state.masker.mask(dict(values))
    if masked.get("url") is not None:
        return f"the address {masked['url']}"
    if masked.get("text") is not None:
        return f'text "{masked["text"]}"'
    return None


def describe_target_values(target: Mapping[str, Any]) -> str | None:
    """A target's rendered keys in a few words, e.g. `role button "Save"`."""
    from bastidor.flow.target import TargetFields

    known = {key: value for key, value in target.items() if key in TargetFields.model_fields}
    try:
        return TargetFields.model_construct(**known).describe()
    except (AssertionError, AttributeError, TypeError, ValueError):
        return None


def _problem(ctx: Any, error: BaseException, facts: Any, values: Mapping[str, Any]) -> list[str]:
    """What went wrong, in a line or two."""
    if facts is None:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        return lines[:MAX_PROBLEM_LINES] or [type(error).__name__]
    if facts.matches is not None:
        tags = ", ".join(facts.matched)
        return [f"{facts.matches} elements match it ({tags}); add nth: (0 for the first) or within: to say which"]
    if facts.covered_by is not None:
        return [f"an element covers it: {facts.covered_by}",
                "close what covers it first (click its button, or wait_for it with state: hidden)"]
    if facts.state == "no_option":
        return [f"the drop-down has no option {_quoted(ctx, values.get('option'))}"]
    if facts.state is not None:
        return [_STATE_WORDS[facts.state]]
    if facts.network_error is not None:
        return [f"the page could not be opened ({facts.network_error}): check the address and that the site is up"]
    if facts.not_found and target_values(values) is not None:
        return ["nothing on the page matches it"]
    return [_timeout_problem(ctx, facts)]


_STATE_WORDS = {
    "hidden": "it is on the page but hidden",
    "disabled": "it is on the page but disabled: something must happen first to enable it",
    "read_only": "it is on the page but read-only: it cannot be typed into",
    "moving": "it kept moving (an animation) and could not be clicked",
    "outside": "it is outside the page's visible area",
}


def _quoted(ctx: Any, value: Any) -> str:
    return f"'{ctx.state.masker.mask(value)}'"


def _timeout_problem(ctx: Any, facts: Any) -> str:
    if facts.timeout_ms is None:
        return facts.first_line or "the browser refused the step"
    action = ctx.node.action
    if action == "wait_for_url":
        return f"the page's address did not match; the page is at {_current_url(ctx)}"
    if action == "open":
        return "the page did not finish loading"
    return "it was found but did not become ready" if facts.resolved else "it did not happen"


def _current_url(ctx: Any) -> str:
    try:
        return ctx.state.browser.current().page.url
    except Exception:  # the page is gone: say so rather than fail again
        return "(the page is gone)"


def _hints(ctx: Any, error: BaseException, facts: Any, values: Mapping[str, Any]) -> list[str]:
    """What the page has that is close to what the step looked for (the page is read only when that can
    help, and never for a target or option computed from a secret)."""
    target, option = _missing(ctx, error, facts, values)
    if (target is None and option is None) or contains_taint(target) or contains_taint(option):
        return []
    inventory = _inventory(ctx, values) if ctx.state.browser.started else None
    if inventory is None:
        return []
    from bastidor.bots.failure_hints import near_match_hints, option_hints

    return option_hints(str(option), inventory) if option is not None else near_match_hints(target, inventory)


def _missing(ctx: Any, error: BaseException, facts: Any, values: Mapping[str, Any]) -> tuple[Any, Any]:
    """(the target that matched nothing, the drop-down option that is not there); None for each that
    is not the problem."""
    if facts is not None and facts.state == "no_option":
        return None, values.get("option")
    looks_missing = facts.not_found if facts is not None else isinstance(error, AssertionFailed)
    if not looks_missing:
        return None, None
    if ctx.node.action == "wait_for_text" and values.get("text") is not None:
        return {"text": values["text"], "exact": values.get("exact", False)}, None
    return target_values(values), None


def _inventory(ctx: Any, values: Mapping[str, Any]) -> Any:
    from bastidor.bots.page_inventory import read_inventory

    bot = ctx.state.flow.header.bot
    attribute = bot.test_id_attribute if bot is not None else "data-testid"
    inventory = read_inventory(ctx.state.browser.current().page, test_id_attribute=attribute)
    if inventory is None:
        return None
    secrets = [text.casefold() for text in ctx.state.masker.values()]
    secrets += [str.__str__(str(leaf)).casefold() for leaf in tainted_leaves(dict(values))]
    return inventory.without(lambda text: any(secret and secret in text.casefold() for secret in secrets))


def timeout_line(ctx: Any, values: Mapping[str, Any], waited_ms: int) -> str:
    """How long the step waited, which `timeout:` set that, and how to give it longer."""
    if values.get("timeout") is not None:
        source = f"timeout: {duration_text(int(values['timeout']))} on this step"
    else:
        source = f"timeout: {duration_text(ctx.state.browser.timeout_ms)} from the bot's settings"
    return f"waited {duration_text(waited_ms)} ({source}); if the page is only slow, raise timeout: on the step"


def duration_text(ms: int) -> str:
    """A duration as a flow writes it: `500ms`, `2s`, `1.5s`, `2m`."""
    from decimal import Decimal

    if ms < 1000:
        return f"{ms}ms"
    if ms % 60_000 == 0:
        return f"{ms // 60_000}m"
    return f"{(Decimal(ms) / 1000).normalize():f}s"


def _masked(ctx: Any, text: str, values: Mapping[str, Any]) -> str:
    """`text` with the run's secrets and every value the step computed from one replaced by `***`."""
    masked = ctx.state.masker.mask_text(text)
    for leaf in tainted_leaves(dict(values)):
        shown = str.__str__(str(leaf))
        if shown:
            masked = masked.replace(shown, "***")
    return masked
