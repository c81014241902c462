"""How many attempts a step (its `retry`) or a work item (its loop's `max_attempts`) was allowed, read from
the run's flow file, so a report can say "passed on attempt 3 of 10".

The flow file is read again only when it is the one that ran (same SHA-256 as the run record); otherwise,
or when it is gone or no longer valid, the limits are unknown and reports say "passed on attempt 3".

    limits = AttemptLimits.of_run(run)
    limits.step("4[2].1>.3")     # 10 (its retry attempts), or None when unknown
    limits.max_attempts("4")     # 3 (a for_each_item's or a repeat's max_attempts)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_COMPONENT = re.compile(r"^(?P<index>\d+)(?:\[(?P<iteration>[^\]]+)\]|(?P<subflow>>))?$")
_REPEAT_ATTEMPT = re.compile(r"^attempt\d+$")


@dataclass(frozen=True)
class AttemptLimits:
    """The attempt limits of one run's steps and items; every answer is None when the flow is unknown."""

    steps: list[Any] | None = None

    @classmethod
    def of_run(cls, run: Any) -> AttemptLimits:
        """The limits of `run`'s flow when its file is still the one that ran; unknown limits otherwise."""
        from bastidor.flow.diagnostics import FlowValidationError
        from bastidor.flow.loader import load_flow

        path = Path(run.flow_path) if getattr(run, "flow_path", None) else None
        if path is None or not path.is_file():
            return cls()
        try:
            flow = load_flow(path)
        except (FlowValidationError, OSError, ValueError):
            return cls()
        return cls(flow.steps) if flow.sha256 == run.flow_sha256 else cls()

    def step(self, path: str) -> int | None:
        """The attempts the step at `path` may take (1 without `retry`); None when unknown."""
        node = self._node(path)
        if node is None:
            return None
        return node.retry.attempts if node.retry is not None else 1

    def max_attempts(self, path: str) -> int | None:
        """The `max_attempts` of the step at `path`: the attempts of each item of a `for_each_item`, or of a
        `repeat`; None when unknown."""
        node = self._node(path)
        return getattr(node.params, "max_attempts", None) if node is not None else None

    def _node(self, path: str) -> Any:
        """The flow's step at `path` (e.g. ``4[2].1>.3`` or ``5.then.1``), or None."""
        nodes, node = self.steps, None
        for component in path.split("."):
            if nodes is None:
                return None
            found = _COMPONENT.match(component)
            if found is None:  # a block label: `then`, `else`, `steps`, or a repeat's `attempt2`
                label = "steps" if _REPEAT_ATTEMPT.match(component) else component
                nodes, node = (node.blocks.get(label) if node is not None else None), None
                continue
            index = int(found["index"]) - 1
            if not 0 <= index < len(nodes):
                return None
            node = nodes[index]
            nodes = _inner(node, found)
        return node


def _inner(node: Any, found: re.Match[str]) -> list[Any] | None:
    """The steps the next path component counts in: an iteration's steps, a sub-flow's steps, or (for a
    plain step) its blocks, which a label such as ``then`` picks."""
    if found["iteration"] is not None:
        return node.blocks.get("steps")
    if found["subflow"]:
        return node.callee.steps if node.callee is not None else None
    return []
