"""What changed between two versions of a flow: a one-line summary and a line diff for the catalog.

The summary compares the flows step by step ("2 steps added, 1 changed; inputs: discount_pct added;
version 1 → 2"); when either version is not valid YAML it falls back to counting changed lines.
Both versions are read with the flow loader's safe YAML reader, never with a plain YAML load.
"""

from __future__ import annotations

import difflib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bastidor.actions.registry import all_actions
from bastidor.flow.diagnostics import FlowValidationError
from bastidor.flow.yamlsource import load_yaml

LIST_KEYS = ("secrets", "outputs")
NAMED_KEYS = ("inputs",)
CONTEXT_LINES = 3


@dataclass(frozen=True)
class DiffLine:
    """One line of a line diff: `added`, `removed`, `same`, or `gap` (unchanged lines left out)."""

    kind: str
    old_number: int | None
    new_number: int | None
    text: str

    @property
    def mark(self) -> str:
        """`+` for an added line, `-` for a removed one, a space otherwise."""
        return {"added": "+", "removed": "-"}.get(self.kind, " ")


GAP = DiffLine("gap", None, None, "…")


def summarize_change(old_source: str, new_source: str) -> str:
    """What changed from `old_source` to `new_source`, in one line for people."""
    old, new = _parsed(old_source), _parsed(new_source)
    if old is None or new is None:
        return _line_counts(old_source, new_source)
    parts = [part for part in (_steps_summary(old.get("steps"), new.get("steps")), *_header_summary(old, new))
             if part]
    return "; ".join(parts) or "only comments or layout changed"


def line_diff(old_source: str, new_source: str, context: int = CONTEXT_LINES) -> list[DiffLine]:
    """The changed lines with `context` unchanged lines around each change; left-out runs become gaps."""
    old, new = old_source.splitlines(), new_source.splitlines()
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    lines: list[DiffLine] = []
    shown_until = 0
    for group in matcher.get_grouped_opcodes(context):
        first_old_line = group[0][1]
        if first_old_line > shown_until:
            lines.append(GAP)
        for tag, i1, i2, j1, j2 in group:
            lines += _diff_lines(tag, old, new, i1, i2, j1, j2)
        shown_until = group[-1][2]
    if lines and shown_until < len(old):
        lines.append(GAP)
    return lines


def _diff_lines(tag: str, old: list[str], new: list[str], i1: int, i2: int, j1: int, j2: int) -> list[DiffLine]:
    if tag == "equal":
        return [DiffLine("same", i + 1, j + 1, old[i]) for i, j in zip(range(i1, i2), range(j1, j2))]
    removed = [DiffLine("removed", i + 1, None, old[i]) for i in range(i1, i2)]
    added = [DiffLine("added", None, j + 1, new[j]) for j in range(j1, j2)]
    return removed + added


def _parsed(source: str) -> dict | None:
    """The flow's data read safely (sizes and aliases bounded), or None when it is not a YAML mapping."""
    with tempfile.TemporaryDirectory(prefix="bastidor-flow-") as folder:
        path = Path(folder) / "flow.yaml"
        path.write_text(source, encoding="utf-8")
        try:
            data = load_yaml(path).data
        except FlowValidationError:
            return None
    return data if isinstance(data, dict) else None


def _line_counts(old_source: str, new_source: str) -> str:
    added = removed = 0
    for line in difflib.ndiff(old_source.splitlines(), new_source.splitlines()):
        added += line.startswith("+ ")
        removed += line.startswith("- ")
    if not added and not removed:
        return "only the line endings or encoding changed"
    return f"{_count(added, 'line')} added, {removed} removed (one version is not valid YAML)"


def _steps_summary(old_steps: Any, new_steps: Any) -> str:
    old, new = step_signatures(old_steps), step_signatures(new_steps)
    added = changed = removed = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        paired = min(i2 - i1, j2 - j1)
        changed += paired
        added += (j2 - j1) - paired
        removed += (i2 - i1) - paired
    counts = [(number, word) for number, word in ((added, "added"), (changed, "changed"), (removed, "removed"))
              if number]
    if not counts:
        return ""
    (first, word), rest = counts[0], counts[1:]
    return ", ".join([f"{_count(first, 'step')} {word}", *(f"{number} {word}" for number, word in rest)])


def step_signatures(steps: Any) -> list[str]:
    """Each step (nested steps after their parent, in order) as a comparable text without its nested steps."""
    actions = all_actions()
    signatures: list[str] = []
    for step in steps if isinstance(steps, list) else []:
        action = next((key for key in step if key in actions), None) if isinstance(step, dict) else None
        own, children = _split_blocks(step, action, actions[action].blocks if action else ())
        signatures.append(json.dumps(own, sort_keys=True, default=str))
        for child in children:
            signatures += step_signatures(child)
    return signatures


def _split_blocks(step: Any, action: str | None, blocks: tuple[str, ...]) -> tuple[Any, list[Any]]:
    """The step without its nested blocks (written beside the action key or inside its mapping), and the blocks."""
    if not isinstance(step, dict) or action is None:
        return step, []
    own = dict(step)
    settings = dict(own[action]) if isinstance(own[action], dict) else None
    children = []
    for block in blocks:
        if block in own:
            children.append(own.pop(block))
        elif settings is not None and block in settings:
            children.append(settings.pop(block))
    if settings is not None:
        own[action] = settings
    return own, children


def _header_summary(old: dict, new: dict) -> list[str]:
    parts = []
    keys = [key for key in dict.fromkeys([*old, *new]) if key != "steps"]
    for key in keys:
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if key == "version":
            parts.append(f"version {before if before is not None else 1} → {after if after is not None else 1}")
        elif key in NAMED_KEYS or key in LIST_KEYS:
            parts.append(f"{key}: {_members_summary(before, after)}")
        else:
            parts.append(f"{key} changed")
    return parts


def _members_summary(before: Any, after: Any) -> str:
    """`a added, b removed, c changed` for the names in two mappings or two lists."""
    old = before if isinstance(before, dict) else dict.fromkeys(before or [])
    new = after if isinstance(after, dict) else dict.fromkeys(after or [])
    added = [f"{name} added" for name in new if name not in old]
    removed = [f"{name} removed" for name in old if name not in new]
    changed = [f"{name} changed" for name in new if name in old and old[name] != new[name]]
    return ", ".join(added + changed + removed) or "reordered"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")
