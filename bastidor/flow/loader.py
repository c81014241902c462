"""Loads a flow file: safe YAML, header and steps validated, names and sub-flows checked.

Every problem in the flow and in the sub-flows it calls is collected and raised together
as one FlowValidationError, each as `file:line:column: message`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from pydantic import ValidationError

from bastidor.flow.checks import check_names
from bastidor.flow.diagnostics import Diagnostic, FlowValidationError, did_you_mean, display_path
from bastidor.flow.explain import explain_errors
from bastidor.flow.item_rules import check_item_loops, check_item_steps
from bastidor.flow.model import FlowHeader
from bastidor.flow.steps import FLOW_STEPS, StepNode, StepParser
from bastidor.flow.yamlsource import YamlDocument, load_yaml


@dataclass
class Flow:
    """A validated flow, ready to run."""

    path: Path
    file: str
    header: FlowHeader
    steps: list[StepNode]
    sha256: str

    @property
    def name(self) -> str:
        """The flow's name as written."""
        return self.header.name

    def walk(self) -> Iterator[StepNode]:
        """Every step of this flow and of the sub-flows it calls, depth first."""
        yield from _walk(self.steps, set())

    def needs_browser(self) -> bool:
        """True when any step (here or in a sub-flow) drives the browser."""
        return any(node.spec.kind == "browser" for node in self.walk())


def _walk(nodes: list[StepNode], seen: set[Path]) -> Iterator[StepNode]:
    for node in nodes:
        yield node
        for block in node.blocks.values():
            yield from _walk(block, seen)
        if node.callee is not None and node.callee.path not in seen:
            seen.add(node.callee.path)
            yield from _walk(node.callee.steps, seen)


def load_flow(path: Path | str) -> Flow:
    """Load and validate a flow file (and its sub-flows), or raise FlowValidationError."""
    return FlowLoader().load(Path(path))


class FlowLoader:
    """Loads flows, sharing sub-flows that several flows call and catching call cycles."""

    def __init__(self) -> None:
        self._done: dict[Path, Flow] = {}
        self._stack: list[Path] = []

    def load(self, path: Path) -> Flow:
        """Load one flow file, raising FlowValidationError with every problem found."""
        resolved = path.resolve()
        if resolved in self._done:
            return self._done[resolved]
        self._stack.append(resolved)
        try:
            flow = self._load_uncached(path, resolved)
        finally:
            self._stack.pop()
        self._done[resolved] = flow
        return flow

    def _load_uncached(self, path: Path, resolved: Path) -> Flow:
        doc = load_yaml(path)
        diagnostics: list[Diagnostic] = []
        header = self._header(doc, diagnostics)
        parser = StepParser(doc.source)
        has_steps = isinstance(doc.data, dict) and "steps" in doc.data
        steps = parser.parse_list(doc.data["steps"], FLOW_STEPS) if has_steps else []
        diagnostics += parser.diagnostics
        flow = Flow(resolved, doc.source.file, header or _partial_header(doc.data), steps, doc.sha256)
        diagnostics += self._link_calls(flow, doc)
        diagnostics += check_names(flow, doc.source)
        diagnostics += check_item_loops(flow)
        diagnostics += check_item_steps(flow)
        if diagnostics or header is None:
            raise FlowValidationError(diagnostics)
        return flow

    @staticmethod
    def _header(doc: YamlDocument, diagnostics: list[Diagnostic]) -> FlowHeader | None:
        if not isinstance(doc.data, dict):
            diagnostics.append(doc.source.diagnostic((), "a flow file holds keys such as `name:` and `steps:` "
                                                     "at the top, not a list or a single value; see flows/"))
            return None
        try:
            return FlowHeader.model_validate(doc.data)
        except ValidationError as error:
            diagnostics += explain_errors(error, FlowHeader, "the flow", doc.source, lambda loc: loc)
            return None

    def _link_calls(self, flow: Flow, doc: YamlDocument) -> list[Diagnostic]:
        problems: list[Diagnostic] = []
        for node in _walk(flow.steps, set()):
            if node.action == "call":
                problems += self._link_call(node, flow, doc)
        return problems

    def _link_call(self, node: StepNode, flow: Flow, doc: YamlDocument) -> list[Diagnostic]:
        target = (flow.path.parent / node.params.flow).resolve()
        loc = node.param_locs["call"]
        if not target.is_file():
            return [doc.source.diagnostic(loc, f"sub-flow '{node.params.flow}' not found "
                                          f"(looked for {display_path(target)})")]
        if target in self._stack:
            chain = " -> ".join(display_path(p) for p in self._stack[self._stack.index(target):] + [target])
            return [doc.source.diagnostic(loc, f"flows call each other in a circle: {chain}")]
        try:
            node.callee = self.load(target)
        except FlowValidationError as error:
            return error.diagnostics
        return _check_call_inputs(node, doc)


def _partial_header(data: object) -> FlowHeader:
    """Enough of an invalid header to go on checking the steps' names and secrets."""
    data = data if isinstance(data, dict) else {}
    inputs = data.get("inputs") if isinstance(data.get("inputs"), dict) else {}
    secrets = data.get("secrets") if isinstance(data.get("secrets"), list) else []
    outputs = data.get("outputs") if isinstance(data.get("outputs"), list) else []
    return FlowHeader.model_construct(name=str(data.get("name", "")), inputs=inputs, secrets=secrets,
                                      outputs=outputs, steps=[])


def _check_call_inputs(node: StepNode, doc: YamlDocument) -> list[Diagnostic]:
    declared = node.callee.header.inputs
    given = node.params.inputs or {}
    problems = []
    for name in given:
        if name not in declared:
            hint = did_you_mean(name, declared) if declared else "; it declares no inputs"
            loc = node.param_locs["inputs"] + (name,)
            problems.append(doc.source.diagnostic(
                loc, f"sub-flow '{node.params.flow}' has no input '{name}'{hint}", prefer_key=True))
    for name, spec in declared.items():
        if spec.default is None and name not in given:
            problems.append(doc.source.diagnostic(
                node.param_locs["call"], f"sub-flow '{node.params.flow}' needs input '{name}': add it under inputs"))
    return problems
