"""How a step's settings read in plain language, for the flow catalog: values, elements and options.

A step type's `describe=` (see `registry.py`) is formatted with a `StepWording` of one step. Values are
shown as a reader of the procedure expects them: literal text in quotes, `{{ expression }}` as the bare
expression (`{{ order.quantity }}` reads `order.quantity`), and the element a browser step acts on in
words (`label: Quantity` reads "the field labelled 'Quantity'").
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from bastidor.flow.target import STRATEGIES

OPEN, CLOSE = "{{", "}}"
_PART = re.compile(r"\{\{\s*(.*?)\s*\}\}", re.DOTALL)
ROLE_WORDS = {
    "alert": "message", "button": "button", "link": "link", "textbox": "text box", "checkbox": "checkbox",
    "combobox": "drop-down", "radio": "option button", "row": "table row", "cell": "table cell",
    "heading": "heading", "menuitem": "menu item", "tab": "tab", "dialog": "dialog", "table": "table",
}


def lone_expression(text: str) -> str | None:
    """The expression of a value written as exactly one `{{ expression }}`, else None."""
    stripped = text.strip()
    if stripped.startswith(OPEN) and stripped.endswith(CLOSE) and stripped.count(OPEN) == 1:
        return stripped[len(OPEN):-len(CLOSE)].strip()
    return None


def readable_text(text: str, *, quoted: bool = True) -> str:
    """Text as a reader sees it: a lone expression bare, other text quoted with each `{{ x }}` as `{x}`."""
    expression = lone_expression(text)
    if expression is not None:
        return expression
    shown = _PART.sub(lambda match: "{" + match.group(1) + "}", text).strip()
    return f"'{shown}'" if quoted else shown


def readable(value: Any, *, quoted: bool = True, nested: bool = False) -> str:
    """Any written setting as a reader sees it: text, numbers, yes/no, lists and records."""
    if isinstance(value, str):
        return readable_text(value, quoted=quoted)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        pairs = ", ".join(f"{key} = {readable(item, nested=True)}" for key, item in value.items())
        return f"({pairs})" if nested else pairs
    if isinstance(value, (list, tuple)):
        items = ", ".join(readable(item, quoted=quoted, nested=True) for item in value)
        return f"[{items}]" if quoted else items
    return str(value)


def readable_duration(value: Any) -> str:
    """A duration as written: text such as `2s` as it is, a bare number as seconds (`30` reads `30s`)."""
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return f"{value}s"
    return readable(value, quoted=False)


def joined(parts: list[str]) -> str:
    """`a`, `a and b`, `a, b and c`."""
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


class Shown:
    """One setting as a reader sees it: `format(shown)` quotes text, `format(shown, "plain")` does not."""

    def __init__(self, value: Any):
        self.value = value

    def __format__(self, spec: str) -> str:
        if spec not in ("", "plain"):
            raise ValueError(f"unknown wording format ':{spec}'; use {{key}} or {{key:plain}}")
        return readable(self.value, quoted=spec != "plain")

    def __str__(self) -> str:
        return readable(self.value)


class StepWording:
    """The settings of one step, for its step type's `describe=` sentence.

    `wording["value"]` is the setting `value` (as written, else its default) ready to format;
    `wording["target"]` and `wording.target` are the element in words.
    """

    def __init__(self, params: BaseModel, written: dict[str, Any]):
        self.params = params
        self.written = written

    def __getitem__(self, key: str) -> Any:
        if key == "target":
            return self.target
        return Shown(self.raw(key))

    def raw(self, key: str) -> Any:
        """The setting `key` as written, else the step type's default for it (None when it has none)."""
        if key in self.written:
            return self.written[key]
        return self.params.model_dump(by_alias=True).get(key)

    def has(self, key: str) -> bool:
        """Whether the analyst wrote the setting `key`."""
        return self.written.get(key) is not None

    @property
    def has_target(self) -> bool:
        """Whether the step names an element."""
        return any(self.has(key) for key in _PHRASED_KEYS)

    @property
    def target(self) -> str:
        """The element in words, e.g. "the button 'Submit order'" or "the field labelled 'Quantity'"."""
        return _target_words(self.written)

    def duration(self, key: str) -> str:
        """The duration setting `key` as written (a bare number reads as seconds)."""
        return readable_duration(self.raw(key))

    def one_of(self, **phrases: str) -> str:
        """The phrase of the first setting written among `phrases`, with `{}` as its value."""
        for key, phrase in phrases.items():
            if self.has(key):
                return phrase.format(Shown(self.written[key]))
        return ""

    def options(self, **labels: str) -> str:
        """` (label: value; label: value)` for the settings written among `labels`, or ""."""
        shown = [f"{label}: {readable(self.written[key], quoted=False)}"
                 for key, label in labels.items() if self.has(key)]
        return f" ({'; '.join(shown)})" if shown else ""

    def listing(self, pattern: str = "{key} to {value}", of: str | None = None) -> str:
        """Every written setting (or every entry of the mapping setting `of`) through `pattern`, which
        uses {key} and {value}, joined with commas and "and"."""
        pairs = self.written if of is None else (self.raw(of) or {})
        return joined([pattern.format(key=key, value=Shown(value)) for key, value in pairs.items()])


_PHRASED_KEYS = STRATEGIES + ("column", "row_with_text")


def _target_words(written: dict[str, Any]) -> str:
    """A written target (with its `within:`, nested) in words: "the link 'Edit' in the table row showing 'Chrome'"."""
    key = next((key for key in _PHRASED_KEYS if key in written and written[key] is not None), None)
    if key is None:
        return "the element"
    phrase = _target_phrase(key, written[key], written.get("name"))
    if written.get("exact") is False:
        phrase += " (partial match)"
    if isinstance(written.get("nth"), int):
        phrase += f" (match number {written['nth'] + 1})"
    within = written.get("within")
    if isinstance(within, dict):
        phrase += f" in {_target_words(within)}"
    return phrase


def _target_phrase(key: str, value: Any, name: Any) -> str:
    shown = readable(value)
    if key == "role":
        role = str(value)
        word = f"element with the role {shown}" if "{{" in role else ROLE_WORDS.get(role, role.replace("_", " "))
        return f"the {word} {readable(name)}" if name is not None else f"the {word}"
    phrases = {
        "label": "the field labelled {}",
        "text": "the element with the text {}",
        "placeholder": "the field with the placeholder {}",
        "test_id": "the element {}",
        "css": "the element matching the CSS selector {}",
        "xpath": "the element at the XPath {}",
        "column": "the cell in the column {}",
        "row_with_text": "the table row showing {}",
    }
    return phrases[key].format(shown)
