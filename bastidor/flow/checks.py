"""Checks that need the whole flow: expressions parse, names are defined, secrets are declared."""

from __future__ import annotations

import re
from typing import Any, Iterator

from bastidor.expr import ExpressionSyntaxError, Template
from bastidor.flow.diagnostics import Diagnostic, did_you_mean
from bastidor.flow.yamlsource import Loc, SourceMap

BUILTIN_NAMES = frozenset({"secrets", "run", "item"})
_SECRET_REF = re.compile(r"""secrets\s*(?:\.\s*([A-Za-z_]\w*)|\[\s*["']([^"']+)["']\s*\])""")


def check_names(flow: Any, source: SourceMap) -> list[Diagnostic]:
    """Problems with the expressions in `flow`'s steps, in the order they are written."""
    scope = set(flow.header.inputs) | BUILTIN_NAMES
    checker = _NameChecker(source, set(flow.header.secrets))
    checker.check_block(flow.steps, scope)
    return checker.diagnostics


class _NameChecker:
    def __init__(self, source: SourceMap, secrets: set[str]):
        self.source = source
        self.secrets = secrets
        self.finished_loops: set[str] = set()
        self.diagnostics: list[Diagnostic] = []

    def check_block(self, nodes: list, scope: set[str]) -> set[str]:
        """Check each step in turn; returns the names defined by the end of the block."""
        for node in nodes:
            inner = scope | _loop_names(node)
            self._check_templates(node, scope, inner)
            defined_inside = [self.check_block(block, set(inner)) for block in node.blocks.values()]
            for names in defined_inside:
                scope |= names - _loop_names(node)
            self.finished_loops |= _loop_names(node) - scope
            scope |= node.spec.defined_names(node.params)
            if node.callee is not None:
                scope |= set(node.callee.header.outputs)
        return scope

    def _check_templates(self, node: Any, scope: set[str], inner: set[str]) -> None:
        """A loop's variable is visible in its own settings (e.g. item_ref), except in the list itself.
        A key that is itself a variable the step sets (as in `set`) is visible to the keys after it."""
        defined = node.spec.defined_names(node.params)
        inner = set(inner)
        for key, value in node.written.items():
            names = scope if key == node.spec.shorthand else inner
            for loc, text in _strings(value, node.param_locs[key]):
                self._check_text(text, loc, names)
            if key in defined:
                inner.add(key)

    def _check_text(self, text: str, loc: Loc, scope: set[str]) -> None:
        try:
            template = Template.parse(text)
        except ExpressionSyntaxError as error:
            offset = error.offset or 0
            self.diagnostics.append(self.source.diagnostic(loc, f"expression error: {error.message}",
                                                           offset=offset))
            return
        for name in sorted(template.names() - scope):
            self.diagnostics.append(self.source.diagnostic(loc, self._unknown(name, scope),
                                                           offset=_offset_of(name, text)))
        for match in _SECRET_REF.finditer(text):
            secret = match.group(1) or match.group(2)
            if secret not in self.secrets:
                self.diagnostics.append(self.source.diagnostic(
                    loc, f"secret '{secret}' is not declared: add it to the flow's `secrets:` list",
                    offset=match.start()))


    def _unknown(self, name: str, scope: set[str]) -> str:
        if name in self.finished_loops:
            return f"'{name}' is only defined inside its loop: use it in the loop's steps"
        hint = did_you_mean(name, scope)
        if hint.startswith(","):
            return f"unknown name '{name}'{hint}"
        return f"unknown name '{name}': define it in an earlier step (set, into) or under inputs"


def _offset_of(name: str, text: str) -> int:
    match = re.search(rf"(?<![\w.]){re.escape(name)}\b", text)
    return match.start() if match else 0


def _loop_names(node: Any) -> set[str]:
    loop_var = getattr(node.params, "as_", None)
    return {loop_var, "index"} if loop_var else set()


def _strings(value: Any, loc: Loc) -> Iterator[tuple[Loc, str]]:
    if isinstance(value, str):
        if "{{" in value or "}}" in value:
            yield loc, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, loc + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, loc + (index,))
