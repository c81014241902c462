"""Finding a page element the way a person reads the page: by label, role, text, placeholder or test id.

A label finds its field whether or not the page ties them together. Tied labels (`for=`, a wrapping
`<label>`, aria-labelledby) are found by Playwright's `get_by_label`. Untied ones, where a label, span,
div or table cell simply stands before (or beside) its input, as on many older back-office forms,
are found by an XPath fallback that takes the first field following the text.
"""

from __future__ import annotations

from typing import Union

from playwright.sync_api import Frame, Locator, Page

from bastidor.flow.target import TargetFields

Scope = Union[Page, Frame, Locator]

LABEL_LIKE_TAGS = ("label", "span", "div", "td", "th", "p", "strong", "b")
FIELD = (
    "*[self::select or self::textarea or "
    "(self::input and not(@type='hidden' or @type='submit' or @type='button' "
    "or @type='reset' or @type='image'))]"
)
CONTAINS_FIELD = ".//input or .//select or .//textarea"
TIED_LABEL = f"ancestor-or-self::label[@for or {CONTAINS_FIELD}]"
NORMALISED_TEXT = "normalize-space(translate(., '\u00a0', ' '))"
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
LOWER = "abcdefghijklmnopqrstuvwxyz"


def locate(scope: Scope, target: TargetFields) -> Locator:
    """The locator for `target` inside `scope` (a page, frame or locator)."""
    strategy, value = target.strategy()
    locator = _BY_STRATEGY[strategy](scope, value, target)
    if target.nth is not None:
        return locator.nth(target.nth)
    return locator.first if strategy == "label" else locator


def describe(target: TargetFields) -> str:
    """A short human description of `target` for logs and errors, e.g. `label "Quantity"`."""
    return target.describe()


def untied_label_xpath(label: str, *, exact: bool = True) -> str:
    """XPath for the field an untied label names: the first field after the text, or inside its element.

    `<span>Name</span><input>` gives the input after the span; `<td>Name <input></td>` (text and field
    in one element) gives the input inside. Tied labels are left to `get_by_label`, and a block that
    wraps both text and field (`<div><span>Name</span><input></div>`) is never taken for the text itself.
    """
    tags = " or ".join(f"self::{tag}" for tag in LABEL_LIKE_TAGS)
    untied = f"*[({tags}) and not({TIED_LABEL}) and not(@id and @id = //*/@aria-labelledby)]"
    reads = _text_equals(label) if exact else _text_contains(label)
    text_before_field = f".//{untied}[{reads} and not({CONTAINS_FIELD})]/following::{FIELD}[1]"
    text_beside_field = f".//{untied}[({CONTAINS_FIELD}) and text()[{reads}]]/descendant::{FIELD}[1]"
    return f"{text_before_field} | {text_beside_field}"


def xpath_literal(text: str) -> str:
    """`text` as an XPath 1.0 string literal, whatever quotes it contains."""
    if '"' not in text:
        return f'"{text}"'
    if "'" not in text:
        return f"'{text}'"
    parts = text.split('"')
    return "concat(" + ', \'"\', '.join(f'"{part}"' for part in parts) + ")"


def _by_label(scope: Scope, label: str, target: TargetFields) -> Locator:
    tied = scope.get_by_label(label, exact=target.exact)
    untied = scope.locator("xpath=" + untied_label_xpath(label, exact=target.exact))
    return tied.or_(untied)


def _by_role(scope: Scope, role: str, target: TargetFields) -> Locator:
    if target.name is None:
        return scope.get_by_role(role)  # type: ignore[arg-type]
    return scope.get_by_role(role, name=target.name, exact=target.exact)  # type: ignore[arg-type]


def _text_equals(label: str) -> str:
    return f"{NORMALISED_TEXT} = {xpath_literal(' '.join(label.split()))}"


def _text_contains(label: str) -> str:
    lowered = xpath_literal(" ".join(label.split()).lower())
    return f"contains(translate({NORMALISED_TEXT}, '{UPPER}', '{LOWER}'), {lowered})"


_BY_STRATEGY = {
    "label": _by_label,
    "role": _by_role,
    "text": lambda scope, value, target: scope.get_by_text(value, exact=target.exact),
    "placeholder": lambda scope, value, target: scope.get_by_placeholder(value, exact=target.exact),
    "test_id": lambda scope, value, target: scope.get_by_test_id(value),
    "css": lambda scope, value, target: scope.locator(value),
    "xpath": lambda scope, value, target: scope.locator("xpath=" + value),
}
