"""A flow as a readable procedure: what it needs, what it aims for, and numbered steps in plain language.

This is "the documented process" a supervisor or auditor reads in the flow catalog (and `runner.py
describe` prints): the header of the flow (inputs, secret names, outputs, goals) and each step as a
sentence made by its step type's `describe=` (see `bastidor.actions.registry`), nested under loops,
conditions and sub-flow calls, e.g. "4.5 Fill the field labelled 'Quantity' with order.quantity".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from bastidor.actions.wording import readable, readable_duration
from bastidor.flow.loader import Flow
from bastidor.flow.steps import StepNode

BLOCK_LABELS = {"else": "Otherwise"}
"""Headings of a step's nested blocks; blocks not listed (a loop's steps, an if's `then`) have none."""
NAME_WORDS = {"min": "minimum", "max": "maximum", "p95": "95th-percentile"}


@dataclass
class InputRow:
    """One input of the flow as the catalog lists it."""

    name: str
    type: str
    default: str | None
    description: str

    @property
    def required(self) -> bool:
        """Whether a run must be given this input (it has no default)."""
        return self.default is None


@dataclass
class GoalRow:
    """One goal (target) of the flow: what is measured, its target value, and what it means."""

    label: str
    target: str
    meaning: str


@dataclass
class Section:
    """Nested steps of a step, under an optional heading such as "Otherwise"."""

    label: str | None
    steps: list["ProcedureStep"]


@dataclass
class ProcedureStep:
    """One numbered step: the analyst's name for it (if any), its sentence, and nested steps."""

    number: str
    name: str | None
    sentence: str
    line: int
    notes: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    subflow: str | None = None
    """For a `call`: the called flow's path inside the flows folder (its catalog page), else None."""
    subflow_name: str | None = None
    """For a `call`: the called flow's name."""

    @property
    def heading(self) -> str:
        """The step's name and its sentence, or only the sentence when it has no name."""
        return f"{self.name} — {self.sentence}" if self.name else self.sentence


@dataclass
class Procedure:
    """A whole flow in readable form."""

    path: str
    name: str
    description: str
    version: str
    inputs: list[InputRow]
    secrets: list[str]
    outputs: list[str]
    goals: list[GoalRow]
    base_url: str | None
    steps: list[ProcedureStep]


def procedure_of(flow: Flow, flows_dir: Path) -> Procedure:
    """The readable procedure of a validated flow; sub-flow paths are taken relative to `flows_dir`."""
    header = flow.header
    goals = getattr(header, "goals", None) or getattr(header, "targets", None)
    return Procedure(
        path=relative_flow_path(flow.path, flows_dir) or flow.file, name=header.name,
        description=(header.description or "").strip(), version=str(header.version),
        inputs=[_input_row(name, spec) for name, spec in header.inputs.items()],
        secrets=list(header.secrets), outputs=list(header.outputs), goals=goal_rows(goals),
        base_url=header.bot.base_url if header.bot else None,
        steps=_numbered(flow.steps, "", flows_dir.resolve()))


def relative_flow_path(path: Path | str, flows_dir: Path) -> str | None:
    """`path` relative to the flows folder, with forward slashes; None when it lies outside."""
    try:
        return Path(path).resolve().relative_to(flows_dir.resolve()).as_posix()
    except ValueError:
        return None


def step_sentence(node: StepNode) -> str:
    """The step in plain language, or its step type's summary when the type has no description."""
    try:
        sentence = node.spec.sentence(node.params, node.written)
    except (KeyError, ValueError, TypeError, AttributeError, IndexError):
        sentence = None
    return sentence or f"{node.action}: {node.spec.summary}"


def _numbered(nodes: list[StepNode], prefix: str, flows_dir: Path) -> list[ProcedureStep]:
    return [_step(node, f"{prefix}{index}", flows_dir) for index, node in enumerate(nodes, 1)]


def _step(node: StepNode, number: str, flows_dir: Path) -> ProcedureStep:
    sections: list[Section] = []
    done = 0
    for block in _block_order(node):
        children = node.blocks.get(block) or []
        if children:
            steps = [_step(child, f"{number}.{done + i}", flows_dir) for i, child in enumerate(children, 1)]
            sections.append(Section(_block_heading(block), steps))
            done += len(children)
    callee = node.callee
    subflow = relative_flow_path(callee.path, flows_dir) if callee is not None else None
    return ProcedureStep(number, node.name, step_sentence(node), node.line, _notes(node), sections, subflow,
                         callee.name if callee is not None else None)


def _block_order(node: StepNode) -> list[str]:
    """The step's blocks in reading order: its named blocks, then the steps of each outcome (`branch1` ...)."""
    named = list(node.spec.blocks)
    return named + [block for block in node.blocks if block not in named]


def _block_heading(block: str) -> str | None:
    """The heading of a nested block: "Otherwise" for else, "When outcome 2 shows" for wait_for_any's branch2."""
    if block.startswith("branch") and block[len("branch"):].isdigit():
        return f"When outcome {block[len('branch'):]} shows"
    return BLOCK_LABELS.get(block)


def _notes(node: StepNode) -> list[str]:
    notes = []
    if node.retry is not None:
        notes.append(f"tried up to {node.retry.attempts} times when it fails")
    timeout = node.written.get("timeout")
    if timeout is not None:
        notes.append(f"waits up to {readable_duration(timeout)}")
    return notes


def _input_row(name: str, spec: Any) -> InputRow:
    kind = getattr(spec.type, "value", spec.type)
    default = None if spec.default is None else readable(spec.default, quoted=False)
    return InputRow(name, str(kind), default, spec.description or "")


def goal_rows(goals: BaseModel | dict | None) -> list[GoalRow]:
    """The goals that are set, each with a readable label, target and meaning."""
    if goals is None:
        return []
    if isinstance(goals, BaseModel):
        fields = type(goals).model_fields
        values = goals.model_dump(exclude_none=True)
        meanings = {name: fields[name].description or "" for name in values if name in fields}
    else:
        values = {key: value for key, value in goals.items() if value is not None}
        meanings = {}
    return [GoalRow(_label(name), goal_target(name, value), meanings.get(name, "")) for name, value in values.items()]


def goal_target(name: str, value: Any) -> str:
    """A goal's target as people read it: rates as percents, times as durations."""
    if "rate" in name and isinstance(value, (int, Decimal, float)) and not isinstance(value, bool):
        percent = Decimal(str(value)) * (100 if value <= 1 else 1)
        return f"{percent.normalize():f}%"
    if name.endswith(("_time", "_wait", "timeout")) and isinstance(value, int):
        return duration_text(value)
    return readable(value, quoted=False)


def duration_text(ms: int) -> str:
    """Milliseconds as the flow language writes them: 500ms, 2s, 1.5s, 5m, 1h."""
    if ms and ms % 3_600_000 == 0:
        return f"{ms // 3_600_000}h"
    if ms and ms % 60_000 == 0:
        return f"{ms // 60_000}m"
    if ms >= 1000:
        return f"{(Decimal(ms) / 1000).normalize():f}s"
    return f"{ms}ms"


def _label(name: str) -> str:
    words = [NAME_WORDS.get(word, word) for word in name.split("_")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def procedure_text(procedure: Procedure) -> str:
    """The procedure as plain text, for the command line and for tests."""
    lines = [f"{procedure.name} (version {procedure.version})", procedure.path]
    if procedure.description:
        lines += ["", procedure.description]
    lines += _header_lines(procedure)
    lines += ["", "Steps:"]
    for step in procedure.steps:
        lines += _step_lines(step, 0)
    return "\n".join(lines) + "\n"


def _header_lines(procedure: Procedure) -> list[str]:
    lines: list[str] = []
    if procedure.inputs:
        lines += ["", "Inputs:"]
        for row in procedure.inputs:
            default = "required" if row.required else f"default {row.default}"
            lines.append(f"  - {row.name} ({row.type}, {default})" + (f": {row.description}" if row.description
                                                                        else ""))
    if procedure.secrets:
        lines += ["", "Secrets used: " + ", ".join(procedure.secrets)]
    if procedure.outputs:
        lines += ["", "Outputs: " + ", ".join(procedure.outputs)]
    if procedure.goals:
        lines += ["", "Goals:"] + [f"  - {goal.label}: {goal.target}" for goal in procedure.goals]
    if procedure.base_url:
        lines += ["", f"Works in the browser at {procedure.base_url}"]
    return lines


def _step_lines(step: ProcedureStep, depth: int) -> list[str]:
    indent = "   " * depth
    number = f"{step.number}." if depth == 0 else step.number
    text = step.heading + (f" ({'; '.join(step.notes)})" if step.notes else "")
    lines = [f"{indent}{number} {text}{':' if step.sections else ''}"]
    for section in step.sections:
        if section.label:
            lines.append(f"{indent}   {section.label}:")
        for child in section.steps:
            lines += _step_lines(child, depth + 1)
    return lines
