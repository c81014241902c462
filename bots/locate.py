"""Finding a page element the way a person reads the page: by label, role, text, placeholder or test id.

A label finds its field whether or not the page ties them together. Tied labels (`for=`, a wrapping
`<label>`, aria-labelledby) are found by Playwright's `get_by_label`. Untied ones, where a label, span,
div or table cell simply stands before (or beside) its input, as on many older back-office forms,
are found by an XPath fallback that takes the first field following the text.

Text targets match visible elements only, so a hidden copy of the same text earlier in the page is never
taken. Exact text and accessible names ignore icon-font glyphs (Unicode's Private Use Area, U+E000 to
U+F8FF) around the words: a button showing a glyph and then "Login" is the button "Login". `within:` looks inside
another element (a dialog, a table row found by its text, ...); `column:` takes the cell under a column
header, in HTML tables and ARIA tables and grids alike.
"""

from __future__ import annotations

import re
from typing import Union

from playwright.sync_api import Frame, Locator, Page

from bastidor.flow.target import ScopeTarget, TargetKeys, describe_target, resolve_target

Scope = Union[Page, Frame, Locator]

DEFAULT_TEST_ID_ATTRIBUTE = "data-testid"
LABEL_LIKE_TAGS = ("label", "span", "div", "td", "th", "p", "strong", "b")
FIELD = (
    "*[self::select or self::textarea or "
    "(self::input and not(@type='hidden' or @type='submit' or @type='button' "
    "or @type='reset' or @type='image'))]"
)
CONTAINS_FIELD = ".//input or .//select or .//textarea"
FIELD_TAG = "self::input or self::select or self::textarea"
TIED_LABEL = f"ancestor-or-self::label[@for or {CONTAINS_FIELD}]"
NORMALISED_TEXT = "normalize-space(translate(., '\u00a0', ' '))"
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
LOWER = "abcdefghijklmnopqrstuvwxyz"
ICON_GLYPHS = "\\ue000-\\uf8ff"
"""Unicode's Private Use Area, where icon fonts put their glyphs (as a regular-expression range)."""
ROW = "(self::tr or @role='row')"
CELL = "(self::td or self::th or @role='cell' or @role='gridcell' or @role='rowheader' or @role='columnheader')"
HEADER_CELL = "(self::th or @role='columnheader')"
DATA_CELL = f"({CELL} and not(@role='columnheader') and not(ancestor::thead) and not(self::th and not(../td)))"
TABLE = "(self::table or @role='table' or @role='grid' or @role='treegrid')"


def locate(scope: Scope, target: TargetKeys, *, test_id_attribute: str = DEFAULT_TEST_ID_ATTRIBUTE) -> Locator:
    """The locator for `target` inside `scope` (a page, frame or locator).

    `target` may still hold the raw values of a step whose `{{ }}` were worked out; they are checked here
    (`bastidor.flow.target.TargetError` when one cannot be used). `test_id_attribute` is the attribute
    `test_id:` reads (the flow's `bot.test_id_attribute`), applied to this locator only.
    """
    target = resolve_target(target, scope=isinstance(target, ScopeTarget))
    if target.within is not None:
        scope = locate(scope, target.within, test_id_attribute=test_id_attribute)
    strategy, value = target.strategy()
    if strategy == "test_id":
        locator = scope.locator(selector_for_test_id(value, test_id_attribute))
    else:
        locator = _BY_STRATEGY[strategy](scope, value, target)
    if target.nth is not None:
        return locator.nth(target.nth)
    return locator.first if strategy == "label" else locator


def describe(target: TargetKeys) -> str:
    """A short human description of `target` for logs and errors, e.g. `label "Quantity"`."""
    return describe_target(target)


def selector_for_test_id(value: str, attribute: str = DEFAULT_TEST_ID_ATTRIBUTE) -> str:
    """A CSS selector for the element whose `attribute` is exactly `value`, e.g. `[data-test="greeting"]`.

    Used instead of Playwright's get_by_test_id, whose attribute is one setting for the whole Playwright
    instance that bots share between flows."""
    name = re.sub(r"([.:])", r"\\\1", attribute)
    quoted = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\a ")
    return f'[{name}="{quoted}"]'


def text_matcher(text: str, exact: bool) -> str | re.Pattern[str]:
    """What Playwright matches a text or accessible name with.

    Loose (`exact` false): the text itself, matched as part of the element's text, ignoring case. Exact:
    the whole text, case and words as written, with any whitespace between words and icon-font glyphs
    before or after them allowed."""
    words = text.split()
    if not exact or not words:
        return text
    body = r"\s+".join(_regex_escaped(word) for word in words)
    return re.compile(rf"^[\s{ICON_GLYPHS}]*{body}[\s{ICON_GLYPHS}]*$")


def _regex_escaped(word: str) -> str:
    """`word` escaped for a regular expression read both by Python and by the browser's JavaScript."""
    return re.sub(r"[\\^$.*+?()\[\]{}|/]", lambda match: "\\" + match.group(0), word)


def untied_label_xpath(label: str, *, exact: bool = True) -> str:
    """XPath for the field an untied label names: the first field after the text, or inside its element.

    `<span>Name</span><input>` gives the input after the span; `<td>Name <input></td>` (text and field
    in one element) gives the input inside. Tied labels are left to `get_by_label`, and a block that
    wraps both text and field (`<div><span>Name</span><input></div>`) is never taken for the text itself.
    A `<label>` wrapping a drop-down or text area is found here too, by its own text: `get_by_label` reads the
    options or the text area's content as part of the label, so it misses `<label>Country <select>`.
    """
    tags = " or ".join(f"self::{tag}" for tag in LABEL_LIKE_TAGS)
    untied = f"*[({tags}) and not({TIED_LABEL}) and not(@id and @id = //*/@aria-labelledby)]"
    reads = _text_equals(label) if exact else _text_contains(label)
    text_before_field = f".//{untied}[{reads} and not({CONTAINS_FIELD})]/following::{FIELD}[1]"
    text_beside_field = f".//{untied}[({CONTAINS_FIELD}) and text()[{reads}]]/descendant::{FIELD}[1]"
    wrapping_label = f".//label[{CONTAINS_FIELD}][text()[{reads}] or *[not({FIELD_TAG})][{reads}]]/descendant::{FIELD}[1]"
    return f"{text_before_field} | {text_beside_field} | {wrapping_label}"


def row_with_text_xpath(text: str, *, exact: bool = False) -> str:
    """XPath for the table or grid row (`tr` or role=row) showing `text`.

    Loose: the innermost row whose text contains `text`, ignoring case. Exact: the row with a cell whose
    whole text is `text`."""
    if exact:
        return f"descendant-or-self::*[{ROW}][*[{CELL}][{_text_equals(text)}]]"
    reads = _text_contains(text)
    return f"descendant-or-self::*[{ROW}][{reads}][not(.//*[{ROW}][{reads}])]"


def column_cell_xpath(header: str, *, exact: bool = True) -> str:
    """XPath for the data cells under the column header `header`, in every row inside the scope (or the
    scope itself when it is a row). Header cells are `th` or role=columnheader; columns are counted by
    cell position, so a cell spanning several columns (colspan) shifts the ones after it."""
    reads = _text_equals(header) if exact else _text_contains(header)
    named_header = f"(ancestor::*[{TABLE}][1]//*[{HEADER_CELL}][{reads}])"
    same_position = f"count(preceding-sibling::*[{CELL}]) = count({named_header}[1]/preceding-sibling::*[{CELL}])"
    return f"descendant-or-self::*[{ROW}]/*[{DATA_CELL}][{named_header} and {same_position}]"


def xpath_literal(text: str) -> str:
    """`text` as an XPath 1.0 string literal, whatever quotes it contains."""
    if '"' not in text:
        return f'"{text}"'
    if "'" not in text:
        return f"'{text}'"
    parts = text.split('"')
    return "concat(" + ', \'"\', '.join(f'"{part}"' for part in parts) + ")"


def _by_label(scope: Scope, label: str, target: TargetKeys) -> Locator:
    tied = scope.get_by_label(label, exact=bool(target.exact))
    untied = scope.locator("xpath=" + untied_label_xpath(label, exact=bool(target.exact)))
    return tied.or_(untied)


def _by_role(scope: Scope, role: str, target: TargetKeys) -> Locator:
    if target.name is None:
        return scope.get_by_role(role)  # type: ignore[arg-type]
    name = text_matcher(target.name, bool(target.exact))
    return scope.get_by_role(role, name=name, exact=bool(target.exact))  # type: ignore[arg-type]


def _by_text(scope: Scope, text: str, target: TargetKeys) -> Locator:
    return scope.get_by_text(text_matcher(text, bool(target.exact))).filter(visible=True)


def _text_equals(label: str) -> str:
    return f"{NORMALISED_TEXT} = {xpath_literal(' '.join(label.split()))}"


def _text_contains(label: str) -> str:
    lowered = xpath_literal(" ".join(label.split()).lower())
    return f"contains(translate({NORMALISED_TEXT}, '{UPPER}', '{LOWER}'), {lowered})"


_BY_STRATEGY = {
    "label": _by_label,
    "role": _by_role,
    "text": _by_text,
    "placeholder": lambda scope, value, target: scope.get_by_placeholder(value, exact=bool(target.exact)),
    "css": lambda scope, value, target: scope.locator(value),
    "xpath": lambda scope, value, target: scope.locator("xpath=" + value),
    "row_with_text": lambda scope, value, target: scope.locator(
        "xpath=" + row_with_text_xpath(value, exact=bool(target.exact))),
    "column": lambda scope, value, target: scope.locator(
        "xpath=" + column_cell_xpath(value, exact=bool(target.exact))),
}
