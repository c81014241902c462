"""Parses the `steps:` of a flow into step nodes, checking every step against the action registry.

A step is written as one action key plus optional common keys:

    - fill: {label: Quantity, value: "{{ row.quantity }}"}
      name: Type the quantity
      retry: {attempts: 3, wait: 1s}

An action's settings may also sit beside the action key (`- for_each: "{{ rows }}"` with `as:`
and `steps:` on the following lines); a plain value is the action's main setting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from bastidor.actions.registry import ActionSpec, all_actions
from bastidor.flow.diagnostics import Diagnostic, did_you_mean
from bastidor.flow.explain import explain_errors
from bastidor.flow.retry_policy import RetryPolicy
from bastidor.flow.yamlsource import Loc, SourceMap

COMMON_KEYS = ("name", "retry")
FLOW_STEPS: Loc = ("steps",)
"""Where a flow's own list of steps is written."""


@dataclass
class StepNode:
    """One parsed step: its action, validated params, where it was written and any nested blocks."""

    action: str
    spec: ActionSpec
    params: BaseModel
    written: dict[str, Any]
    file: str
    line: int
    column: int
    param_locs: dict[str, Loc]
    name: str | None = None
    retry: RetryPolicy | None = None
    blocks: dict[str, list["StepNode"]] = field(default_factory=dict)
    callee: Any = None
    default_min_rows: int = 0
    """Rows a read step needs when it does not say (`min_rows`): 1 for the rows of the work-item loop."""

    @property
    def where(self) -> str:
        """`file:line` of the step, for audit records and messages."""
        return f"{self.file}:{self.line}"

    def title(self) -> str:
        """The step's name, or a description made from its action and target."""
        if self.name:
            return self.name
        describe = getattr(self.params, "describe", None)
        if callable(describe):
            try:
                return f"{self.action} {describe()}"
            except (AssertionError, ValueError):
                pass
        main = self.written.get(self.spec.shorthand) if self.spec.shorthand else None
        if isinstance(main, (str, int)) and len(str(main)) <= 80:
            return f"{self.action} {main}"
        return self.action


class StepParser:
    """Parses step lists, collecting diagnostics rather than stopping at the first problem."""

    def __init__(self, source: SourceMap):
        self.source = source
        self.actions = all_actions()
        self.diagnostics: list[Diagnostic] = []

    def parse_list(self, raw: Any, loc: Loc) -> list[StepNode]:
        """Parse a list of steps written at `loc`; an empty list is an error (a block left empty, or a flow with
        no steps). A block key with no value at all is left to the step's own settings model to report."""
        if raw is None and loc != FLOW_STEPS:
            return []
        if not raw and isinstance(raw, (list, type(None))):
            self._error(loc, _empty_block(loc), key=raw is None)
            return []
        if not isinstance(raw, list):
            self._error(loc, "steps must be a list: start each step with '- '")
            return []
        nodes = [self.parse_step(item, loc + (i,)) for i, item in enumerate(raw)]
        return [node for node in nodes if node is not None]

    def parse_step(self, raw: Any, loc: Loc) -> StepNode | None:
        """Parse one step, or record why it cannot be parsed and return None."""
        if not isinstance(raw, dict) or not raw:
            self._error(loc, "a step is a mapping such as `- click: {text: Save}`")
            return None
        name = self._find_action(raw, loc)
        if name is None:
            return None
        spec = self.actions[name]
        params, param_locs = self._gather_params(spec, raw, loc)
        if params is None:
            return None
        return self._build(spec, raw, loc, params, param_locs)

    def _find_action(self, raw: dict, loc: Loc) -> str | None:
        found = [key for key in raw if key in self.actions]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            listed = " and ".join(f"'{key}'" for key in found)
            self._error(loc + (found[1],), f"a step has one action; found {listed}: put each in its own "
                        "'- ' step", key=True)
            return None
        unknown = next((key for key in raw if key not in COMMON_KEYS), None)
        if unknown is None:
            self._error(loc, "this step has no action, e.g. `- click: {text: Save}`")
        else:
            hint = did_you_mean(str(unknown), self.actions)
            self._error(loc + (unknown,), f"unknown action '{unknown}'{hint}", key=True)
        return None

    def _gather_params(self, spec: ActionSpec, raw: dict, loc: Loc) -> tuple[dict | None, dict[str, Loc]]:
        value = raw[spec.name]
        params: dict[str, Any] = {}
        locs: dict[str, Loc] = {}
        if isinstance(value, dict):
            params.update(value)
            locs.update({key: loc + (spec.name, key) for key in value})
        elif value is not None or spec.shorthand is None:
            if spec.shorthand is None:
                self._error(loc + (spec.name,), _needs_mapping(spec))
                return None, locs
            params[spec.shorthand] = value
            locs[spec.shorthand] = loc + (spec.name,)
        for key, sibling in raw.items():
            if key == spec.name or key in COMMON_KEYS:
                continue
            if key in params:
                self._error(loc + (key,), f"'{key}' is given twice for '{spec.name}'", key=True)
                return None, locs
            params[key] = sibling
            locs[key] = loc + (key,)
        return params, locs

    def _build(self, spec: ActionSpec, raw: dict, loc: Loc, params: dict, locs: dict[str, Loc]) -> StepNode | None:
        blocks = self._nested_blocks(spec, params, locs)
        model = self._validate(spec, params, locs, loc)
        retry = self._retry(raw.get("retry"), loc + ("retry",)) if "retry" in raw else None
        name = raw.get("name")
        if name is not None and not isinstance(name, str):
            self._error(loc + ("name",), "'name' must be text")
        if model is None:
            return None
        mark = self.source.at(loc + (spec.name,), prefer_key=True)
        written = _written_settings(spec, params)
        return StepNode(spec.name, spec, model, written, self.source.file, mark.line, mark.column, locs,
                        name if isinstance(name, str) else None, retry, blocks)

    def _nested_blocks(self, spec: ActionSpec, params: dict, locs: dict[str, Loc]) -> dict[str, list[StepNode]]:
        """The step lists nested in a step, by their label in step paths: its blocks (`steps`, `then` ...) and
        the lists inside each mapping of a list setting (`branch1`, `branch2` ... for `wait_for_any`, one per
        mapping: empty when it has no steps of its own)."""
        blocks = {key: self.parse_list(params[key], locs[key]) for key in spec.blocks if key in params}
        for setting, (key, label) in nested_step_lists(spec).items():
            entries = params.get(setting)
            for index, entry in enumerate(entries if isinstance(entries, list) else [], 1):
                steps = entry.get(key) if isinstance(entry, dict) else None
                blocks[f"{label}{index}"] = self.parse_list(steps, locs[setting] + (index - 1, key)) \
                    if isinstance(steps, list) and steps else []
        return blocks

    def _validate(self, spec: ActionSpec, params: dict, locs: dict[str, Loc], loc: Loc) -> BaseModel | None:
        try:
            return spec.params.model_validate(params)
        except ValidationError as error:
            def to_yaml(model_loc: Loc) -> Loc:
                if model_loc and model_loc[0] in locs:
                    return locs[model_loc[0]] + tuple(model_loc[1:])
                return loc + (spec.name,) + tuple(model_loc)

            self.diagnostics.extend(explain_errors(error, spec.params, f"'{spec.name}'", self.source, to_yaml))
            return None

    def _retry(self, raw: Any, loc: Loc) -> RetryPolicy | None:
        try:
            return RetryPolicy.model_validate(raw)
        except ValidationError as error:
            self.diagnostics.extend(
                explain_errors(error, RetryPolicy, "'retry'", self.source, lambda m: loc + tuple(m)))
            return None

    def _error(self, loc: Loc, message: str, *, key: bool = False) -> None:
        self.diagnostics.append(self.source.diagnostic(loc, message, prefer_key=key))


def nested_step_lists(spec: ActionSpec) -> dict[str, tuple[str, str]]:
    """A step type's list settings whose mappings hold steps: setting -> (key of the steps, path label),
    e.g. {"wait_for_any": ("then", "branch")}, from its params model's `nested_step_lists`."""
    return dict(getattr(spec.params, "nested_step_lists", {}))


def _written_settings(spec: ActionSpec, params: dict) -> dict[str, Any]:
    """The settings as written, without the nested steps (those are parsed into the node's blocks)."""
    lists = nested_step_lists(spec)
    written: dict[str, Any] = {}
    for key, value in params.items():
        if key in spec.blocks:
            continue
        if key in lists and isinstance(value, list):
            steps_key = lists[key][0]
            value = [{k: v for k, v in entry.items() if k != steps_key} if isinstance(entry, dict) else entry
                     for entry in value]
        written[key] = value
    return written


_EMPTY_BLOCK_FIX = {
    "then": "add the steps to run when the condition is true (to act only when it is false, put `not` in "
            "the condition and the steps under then)",
    "else": "add the steps to run when the condition is false, or leave 'else' out",
}


def _empty_block(loc: Loc) -> str:
    """Why an empty list of steps at `loc` is refused, and what to write instead."""
    if loc == FLOW_STEPS:
        return "the flow has no steps: add at least one under steps:, each starting with '- '"
    key = loc[-1] if loc else "steps"
    fix = _EMPTY_BLOCK_FIX.get(key, "add at least one step under it, each starting with '- ', or remove the step")
    return f"'{key}' is empty: {fix}"


def _needs_mapping(spec: ActionSpec) -> str:
    keys = spec.field_names()
    if not keys:
        return f"'{spec.name}' needs its settings as a mapping, e.g. {spec.name}: {{total: \"{{{{ 1 + 1 }}}}\"}}"
    shown = ", ".join(keys[:4]) + (", ..." if len(keys) > 4 else "")
    return f"'{spec.name}' needs its settings as a mapping of keys ({shown}), e.g. {spec.name}: {{text: Save}}"
