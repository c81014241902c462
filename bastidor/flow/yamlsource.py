"""Safe YAML loading that remembers where every key and value was written.

Only plain data is built (mappings, lists, scalars) from the composed node graph, so no
Python object is ever constructed from a tag. Oversized files, alias bombs, deep nesting
and duplicate keys are rejected with a position before the data is built; anchors and
aliases (`&name`, `*name`) are refused where they are written, and a quote that is never
closed is reported where it was opened.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from bastidor.flow.diagnostics import Diagnostic, FlowValidationError, display_path

MAX_FILE_BYTES = 1_000_000
MAX_VALUES = 50_000
MAX_DEPTH = 64
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_FLOAT_TAG = "tag:yaml.org,2002:float"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_PLAIN_TAGS = frozenset(f"tag:yaml.org,2002:{name}" for name in (
    "str", "int", "float", "bool", "null", "timestamp", "seq", "map"))

Loc = tuple[Any, ...]


@dataclass(frozen=True)
class Mark:
    """A 1-based line and column, plus the scalar's quoting style (for precise columns)."""

    line: int
    column: int
    style: str | None = None


@dataclass
class SourceMap:
    """Positions of keys and values in one YAML file, addressed by their path in the data."""

    file: str
    values: dict[Loc, Mark] = field(default_factory=dict)
    keys: dict[Loc, Mark] = field(default_factory=dict)

    def at(self, loc: Loc, *, prefer_key: bool = False) -> Mark:
        """The mark for `loc`, or for its nearest written parent when `loc` itself is absent."""
        loc = tuple(loc)
        while loc:
            first, second = (self.keys, self.values) if prefer_key else (self.values, self.keys)
            if loc in first:
                return first[loc]
            if loc in second:
                return second[loc]
            loc = loc[:-1]
        return self.values.get((), Mark(1, 1))

    def diagnostic(self, loc: Loc, message: str, *, prefer_key: bool = False, offset: int = 0) -> Diagnostic:
        """A diagnostic at `loc`; `offset` moves right inside a single-line scalar."""
        mark = self.at(loc, prefer_key=prefer_key)
        if not offset or mark.style not in ("", '"', "'"):
            return Diagnostic(self.file, mark.line, mark.column, message)
        quote = 1 if mark.style in ('"', "'") else 0
        return Diagnostic(self.file, mark.line, mark.column + offset + quote, message)


@dataclass
class YamlDocument:
    """A loaded YAML file: its data, where each part was written, and the file's SHA-256."""

    path: Path
    data: Any
    source: SourceMap
    sha256: str
    text: str


FLOW_EMPTY = "the file is empty: a flow needs at least a name and steps"


def load_yaml(path: Path, empty_message: str = FLOW_EMPTY) -> YamlDocument:
    """Load one YAML file safely, or raise FlowValidationError with file:line:column; `empty_message`
    says what the file should hold when it is empty (the default speaks of flows)."""
    shown = display_path(path)
    raw = _read_bounded(path, shown)
    text = _decode(raw, shown)
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        raise FlowValidationError([_yaml_error(shown, exc, text)]) from None
    except yaml.YAMLError as exc:
        raise FlowValidationError([Diagnostic(shown, 1, 1, f"not valid YAML: {exc}")]) from None
    if node is None:
        raise FlowValidationError([Diagnostic(shown, 1, 1, empty_message)])
    _check_expanded_size(node, shown)
    source = SourceMap(shown)
    data = _Builder(source).build(node)
    _refuse_anchors(text, shown)
    return YamlDocument(path, data, source, hashlib.sha256(raw).hexdigest(), text)


def _check_expanded_size(root: yaml.Node, shown: str) -> None:
    """Reject alias bombs before building anything: count the values the document would expand to,
    once per distinct node (aliases share nodes), children before parents, so it takes linear time."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        if not children_done:
            if id(node) in open_nodes:
                raise FlowValidationError([_at(shown, node, "this value contains itself through a YAML alias "
                                                            "(*name): aliases are not supported, write the data out")])
            open_nodes.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node) if id(child) not in sizes)
            continue
        open_nodes.discard(id(node))
        sizes[id(node)] = 1 + sum(sizes[id(child)] for child in _children(node))
        if sizes[id(node)] > MAX_VALUES:
            raise FlowValidationError([_at(
                shown, node, f"the document expands to more than {MAX_VALUES:,} values; YAML anchors and "
                "aliases (&name, *name) repeat data here: write the data out once instead")])


def _at(shown: str, node: yaml.Node, message: str) -> Diagnostic:
    mark = node.start_mark
    return Diagnostic(shown, mark.line + 1, mark.column + 1, message)


def _refuse_anchors(text: str, shown: str) -> None:
    """Anchors (`&name`) and aliases (`*name`) are not part of the flow language: report each one where
    it is written, saying what to write instead."""
    if "&" not in text and "*" not in text:
        return
    anchors: list[tuple[str, yaml.Mark]] = []
    aliases: list[tuple[str, yaml.Mark]] = []
    for token in yaml.scan(text, Loader=_Loader):
        if isinstance(token, yaml.AliasToken):
            aliases.append((token.value, token.start_mark))
        elif isinstance(token, yaml.AnchorToken):
            anchors.append((token.value, token.start_mark))
    problems = [_anchor_problem(shown, name, mark, [m for n, m in aliases if n == name])
                for name, mark in anchors]
    for name, mark in aliases:
        anchor = next((m for n, m in reversed(anchors) if n == name and m.index < mark.index), mark)
        problems.append(Diagnostic(shown, mark.line + 1, mark.column + 1,
                                   f"YAML aliases (*{name}) are not supported: write the value of &{name} "
                                   f"(line {anchor.line + 1}) out here instead"))
    if problems:
        raise FlowValidationError(problems)


def _anchor_problem(shown: str, name: str, mark: yaml.Mark, uses: list[yaml.Mark]) -> Diagnostic:
    if uses:
        lines = sorted({use.line + 1 for use in uses})
        where = f"line{'s' if len(lines) > 1 else ''} {', '.join(map(str, lines))}"
        fix = f"remove '&{name}' and write its value out where *{name} is used ({where})"
    else:
        fix = f"nothing uses this one: remove '&{name}'"
    return Diagnostic(shown, mark.line + 1, mark.column + 1, f"YAML anchors (&{name}) are not supported; {fix}")


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _read_bounded(path: Path, shown: str) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise FlowValidationError([Diagnostic(
                shown, 1, 1, f"file is {size:,} bytes; flows are limited to {MAX_FILE_BYTES:,} bytes: "
                "split it into sub-flows")])
        return path.read_bytes()
    except FileNotFoundError:
        raise FlowValidationError([Diagnostic(shown, 1, 1, "file not found")]) from None
    except IsADirectoryError:
        raise FlowValidationError([Diagnostic(shown, 1, 1, "is a folder, not a YAML file")]) from None


def _decode(raw: bytes, shown: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise FlowValidationError([Diagnostic(
            shown, line, 1, "file is not UTF-8 text: save it as UTF-8")]) from None


def _yaml_error(shown: str, exc: yaml.MarkedYAMLError, text: str) -> Diagnostic:
    mark = exc.problem_mark or exc.context_mark
    unclosed = _unclosed_quote(exc, text)
    if unclosed is not None:
        quote = text[unclosed.index] if text[unclosed.index:unclosed.index + 1] in ("'", '"') else '"'
        return Diagnostic(shown, unclosed.line + 1, unclosed.column + 1,
                          f"the quote ({quote}) opened here is never closed: add the closing {quote} at the end "
                          "of the value")
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = exc.problem or "not valid YAML"
    if mark is not None and "\t" in "".join(text.splitlines()[mark.line:mark.line + 1])[: mark.column + 1]:
        return Diagnostic(shown, line, column, "a tab is used for indentation: indent with spaces only")
    context = f" ({exc.context})" if exc.context else ""
    hint = ""
    if "mapping" in problem + context or "expected key" in problem:
        hint = ": check the indentation and quote values that contain ': ' or ' #'"
    return Diagnostic(shown, line, column, f"YAML syntax error: {problem}{context}{hint}")


_LOOKS_LIKE_YAML = re.compile(r"^\s*(- |-$|[\w-]+:(\s|$))")


def _unclosed_quote(exc: yaml.MarkedYAMLError, text: str) -> yaml.Mark | None:
    """Where a quote that is never closed was opened, when that is what broke the file: the scanner ran to
    the end of the file inside quotes, or a quoted value swallowed following lines that look like YAML keys
    or list items (so the next quote in the file closed it by mistake)."""
    if exc.problem and "end of stream" in exc.problem and "quoted scalar" in (exc.context or ""):
        return exc.context_mark
    error_line = exc.problem_mark.line if exc.problem_mark else None
    try:
        for token in yaml.scan(text, Loader=_Loader):
            if error_line is not None and token.start_mark.line > error_line:
                return None
            if _runaway_quote(token, text):
                return token.start_mark
    except yaml.YAMLError:
        return None
    return None


def _runaway_quote(token: yaml.Token, text: str) -> bool:
    if not isinstance(token, yaml.ScalarToken) or token.style not in ('"', "'"):
        return False
    if token.start_mark.line == token.end_mark.line:
        return False
    swallowed = text[token.start_mark.index:token.end_mark.index].splitlines()[1:]
    return any(_LOOKS_LIKE_YAML.match(line) for line in swallowed)


class _Builder:
    """Builds plain data from a composed node graph under a value budget and a depth limit."""

    def __init__(self, source: SourceMap):
        self.source = source
        self.budget = MAX_VALUES
        self.scalars = yaml.constructor.SafeConstructor()

    def build(self, node: yaml.Node, loc: Loc = (), depth: int = 0) -> Any:
        self._spend(node, depth)
        if node.tag not in _PLAIN_TAGS:
            raise self._error(node, f"custom YAML tags such as '{_short_tag(node.tag)}' are not allowed: "
                              "write plain values")
        style = getattr(node, "style", None) if isinstance(node, yaml.ScalarNode) else None
        self.source.values[loc] = Mark(node.start_mark.line + 1, node.start_mark.column + 1, style)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, loc, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, loc + (i,), depth + 1) for i, child in enumerate(node.value)]
        return self._scalar(node, loc)

    def _spend(self, node: yaml.Node, depth: int) -> None:
        self.budget -= 1
        if self.budget < 0:
            raise self._error(node, f"the document expands to more than {MAX_VALUES:,} values; "
                              "YAML anchors and aliases (&, *) may be repeating data: write it out once")
        if depth > MAX_DEPTH:
            raise self._error(node, f"nesting is deeper than {MAX_DEPTH} levels")

    def _mapping(self, node: yaml.MappingNode, loc: Loc, depth: int) -> dict:
        result: dict = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                raise self._error(key_node, "merge keys (<<) are not supported: write the keys out")
            if not isinstance(key_node, yaml.ScalarNode):
                raise self._error(key_node, _complex_key_message(key_node))
            key = key_node.value
            if key in result:
                raise self._error(key_node, f"duplicate key '{key}': each key may appear once here")
            self.source.keys[loc + (key,)] = Mark(key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = self.build(value_node, loc + (key,), depth + 1)
        return result

    def _scalar(self, node: yaml.ScalarNode, loc: Loc) -> Any:
        if node.tag == _FLOAT_TAG:
            try:
                return Decimal(node.value.replace("_", ""))
            except InvalidOperation:
                raise self._error(node, f"'{node.value}' is not a usable number") from None
        try:
            return self.scalars.construct_object(node)
        except (ValueError, yaml.YAMLError):
            raise self._error(node, f"'{node.value}' is not a date that exists: check the year, month "
                              "and day, or quote it to keep it as text") from None

    def _error(self, node: yaml.Node, message: str) -> FlowValidationError:
        """A validation error at `node`'s position."""
        mark = node.start_mark
        return FlowValidationError([Diagnostic(self.source.file, mark.line + 1, mark.column + 1, message)])


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org,2002:") else tag


def _complex_key_message(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return ("a value starting with { must be quoted: write \"{{ ... }}\" in double quotes, "
                "e.g. for_each: \"{{ orders }}\"")
    return "keys must be plain names"
