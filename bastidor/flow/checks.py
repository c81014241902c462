"""Checks that need the whole flow: expressions parse, names are defined, secrets are declared."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterator

from bastidor.expr import ExpressionSyntaxError, Template
from bastidor.flow.connections import CONNECTION_KINDS
from bastidor.flow.diagnostics import Diagnostic, did_you_mean
from bastidor.flow.loop_lists import not_a_list_problems
from bastidor.flow.yamlsource import Loc, SourceMap

BUILTIN_NAMES = frozenset({"secrets", "run", "item"})
_SECRET_REF = re.compile(r"""secrets\s*(?:\.\s*([A-Za-z_]\w*)|\[\s*["']([^"']+)["']\s*\])""")


def check_names(flow: Any, source: SourceMap) -> list[Diagnostic]:
    """Problems with the expressions in `flow`'s steps, in the order they are written."""
    scope = set(flow.header.inputs) | BUILTIN_NAMES
    checker = _NameChecker(source, set(flow.header.secrets), _declared_connections(flow.header))
    checker.check_header_secrets(flow.header)
    checker.check_block(flow.steps, scope)
    for node, loc, message in not_a_list_problems(flow):
        checker.diagnostics.append(source.diagnostic(loc, message, offset=_lead_of(node.written[node.spec.shorthand])))
    return checker.diagnostics


@dataclass(frozen=True)
class _PartlySet:
    """A name set in some branches of a step (e.g. only in the `then` of an `if`) and not in the others."""

    step: Any
    set_in: tuple[str, ...]
    missing_in: tuple[str, ...]

    def message(self, name: str) -> str:
        """Why `name` may not be set after the step, and the fix."""
        where = f"the {self.step.action} at line {self.step.line}"
        if self.step.action == "if":
            branch = self.set_in[0]
            when = "false" if branch == "then" else "true"
            return (f"'{name}' is set only in the '{branch}' branch of {where}, so it has no value when the "
                    f"condition is {when}: set it before the if, or in both 'then' and 'else'")
        return (f"'{name}' is set only in {_listed(self.set_in)} of {where}, not in {_listed(self.missing_in)}: "
                f"set it before that step, or in each of its branches")


def _declared_connections(header: Any) -> dict[str, set[str]]:
    """For each step key naming a connection (api, database, account, folder), the names the header declares."""
    return {kind: set(getattr(header, section, None) or {}) for kind, section in CONNECTION_KINDS.items()}


class _NameChecker:
    def __init__(self, source: SourceMap, secrets: set[str], connections: dict[str, set[str]]):
        self.source = source
        self.secrets = secrets
        self.connections = connections
        self.finished_loops: set[str] = set()
        self.partly_set: dict[str, _PartlySet] = {}
        self.diagnostics: list[Diagnostic] = []

    def check_block(self, nodes: list, scope: set[str]) -> set[str]:
        """Check each step in turn; returns the names surely defined by the end of the block."""
        scope = set(scope)
        for node in nodes:
            loop_names = _loop_names(node)
            inner = scope | loop_names
            self._check_templates(node, scope, inner)
            self._check_named_secrets(node)
            self._check_named_connections(node)
            scope |= self._check_blocks(node, inner) - loop_names
            self.finished_loops |= loop_names - scope
            scope |= node.spec.defined_names(node.params)
            if node.callee is not None:
                scope |= set(node.callee.header.outputs)
        return scope

    def _check_blocks(self, node: Any, inner: set[str]) -> set[str]:
        """Check the step's nested blocks; returns the names they surely define for the steps after it.

        A step with one block (a loop body) runs it, and the names it sets count after the step. A step with
        several blocks (`then`/`else` of an `if`) runs one of them, a block left out runs nothing, and a block
        that ends its item (fail_item, postpone_item) never reaches the steps after: a name counts after the
        step only when every block that goes on sets it.
        """
        defined = {key: self.check_block(block, inner) for key, block in node.blocks.items()}
        keys = alternative_blocks(node)
        if not keys:
            return set().union(*defined.values())
        going_on = {key: defined.get(key, inner) for key in keys if not stops_the_item(node.blocks.get(key, []))}
        if not going_on:
            return set().union(*defined.values())
        surely = set.intersection(*(set(names) for names in going_on.values()))
        for name in set().union(*going_on.values()) - surely:
            set_in = tuple(key for key in going_on if name in going_on[key])
            missing_in = tuple(key for key in going_on if name not in going_on[key])
            self.partly_set[name] = _PartlySet(node, set_in, missing_in)
        return surely

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

    def _check_named_secrets(self, node: Any) -> None:
        """Secrets a step names outside `{{ }}` (e.g. `auth: {bearer: ERP_TOKEN}` of `http_request`), which its
        params list with `secret_refs()`, must be declared too."""
        refs = getattr(node.params, "secret_refs", None)
        if refs is None:
            return
        for where, secret in refs():
            if secret in self.secrets:
                continue
            message = f"secret '{secret}' is not declared: add it to the flow's `secrets:` list"
            if where[0] in node.param_locs:
                self.diagnostics.append(self.source.diagnostic(node.param_locs[where[0]] + tuple(where[1:]), message))
            else:  # never silent: at the step itself when the key's place is unknown
                self.diagnostics.append(Diagnostic(node.file, node.line, node.column, message))

    def check_header_secrets(self, header: Any) -> None:
        """Secrets named by the header's apis, databases and mail accounts must be in `secrets:` too."""
        for section in ("apis", "databases", "mail"):
            for name, spec in (getattr(header, section, None) or {}).items():
                for where, secret in spec.secret_names():
                    if secret not in self.secrets:
                        self.diagnostics.append(self.source.diagnostic(
                            (section, name) + where, f"secret '{secret}' is not declared: add it to the flow's "
                            f"`secrets:` list"))

    def _check_named_connections(self, node: Any) -> None:
        """An api, database, mail account or folder a step names (its params list them with
        `connection_refs()`) must be declared in the flow's header."""
        refs = getattr(node.params, "connection_refs", None)
        if refs is None:
            return
        for where, kind, name in refs():
            declared = self.connections.get(kind, set())
            if name in declared:
                continue
            section = CONNECTION_KINDS[kind]
            message = (f"{kind} '{name}' is not declared under `{section}:` in the flow's header"
                       f"{did_you_mean(name, declared) if declared else ''}")
            if where[0] in node.param_locs:
                self.diagnostics.append(self.source.diagnostic(node.param_locs[where[0]] + tuple(where[1:]), message))
            else:
                self.diagnostics.append(Diagnostic(node.file, node.line, node.column, message))

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
        if name in self.partly_set:
            return self.partly_set[name].message(name)
        hint = did_you_mean(name, scope)
        if hint.startswith(","):
            return f"unknown name '{name}'{hint}"
        return f"unknown name '{name}': define it in an earlier step (set, into) or under inputs"


def alternative_blocks(node: Any) -> tuple[str, ...]:
    """The blocks of a step of which exactly one runs (`then`, `else`), including those left out; () for a
    step whose single block is a body (a loop's `steps`)."""
    if len(node.spec.blocks) > 1:
        return tuple(node.spec.blocks)
    return tuple(node.blocks) if len(node.blocks) > 1 else ()


ITEM_ENDING_STEPS = ("fail_item", "postpone_item")


def stops_the_item(block: list) -> bool:
    """Whether running `block` never reaches the steps after it: it ends the item (fail_item, postpone_item),
    directly or in every branch of a step."""
    for node in block:
        if node.action in ITEM_ENDING_STEPS:
            return True
        keys = alternative_blocks(node)
        if keys and all(stops_the_item(node.blocks.get(key, [])) for key in keys):
            return True
    return False


def _listed(keys: tuple[str, ...]) -> str:
    return " and ".join(f"'{key}'" for key in keys)


def _lead_of(text: Any) -> int:
    """The offset of the expression inside a lone `{{ expression }}`, for a precise column."""
    if not isinstance(text, str) or "{{" not in text:
        return 0
    start = text.index("{{") + 2
    return start + len(text[start:]) - len(text[start:].lstrip())


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
