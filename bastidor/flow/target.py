"""How a step names the element it acts on: the way a person reads the page, CSS or XPath last.

A target gives one strategy (`label`, `role` with an optional `name`, `text`, `placeholder`, `test_id`,
`css`, `xpath`), or `column` for the cell under a column header. `within:` narrows any target to the
inside of another one (which may also be `row_with_text:`, the table row showing a text), and nests.

Every key may be written as a `{{ expression }}`. `validate` accepts the expression; when the step runs,
`resolve_target` takes the worked-out values and checks them (`nth` a whole number 0 or more, `exact`
true or false, `role` a known ARIA role), raising `TargetError` with a sentence an analyst can act on.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator

from bastidor.flow.diagnostics import did_you_mean

STRATEGIES = ("label", "role", "text", "placeholder", "test_id", "css", "xpath")
SCOPE_STRATEGIES = STRATEGIES + ("row_with_text",)
COMMON_ROLES = "button, link, textbox, checkbox, combobox, heading, dialog, table, row, cell"
ARIA_ROLES = frozenset((
    "alert", "alertdialog", "application", "article", "banner", "blockquote", "button", "caption", "cell",
    "checkbox", "code", "columnheader", "combobox", "complementary", "contentinfo", "definition", "deletion",
    "dialog", "directory", "document", "emphasis", "feed", "figure", "form", "generic", "grid", "gridcell",
    "group", "heading", "img", "insertion", "link", "list", "listbox", "listitem", "log", "main", "marquee",
    "math", "menu", "menubar", "menuitem", "menuitemcheckbox", "menuitemradio", "meter", "navigation", "none",
    "note", "option", "paragraph", "presentation", "progressbar", "radio", "radiogroup", "region", "row",
    "rowgroup", "rowheader", "scrollbar", "search", "searchbox", "separator", "slider", "spinbutton", "status",
    "strong", "subscript", "superscript", "switch", "tab", "table", "tablist", "tabpanel", "term", "textbox",
    "time", "timer", "toolbar", "tooltip", "tree", "treegrid", "treeitem",
))
"""The roles a `role:` target may name: the ARIA roles Playwright's get_by_role knows."""
ROLE_FOR_WORD = {
    "modal": "dialog", "popup": "dialog", "window": "dialog", "input": "textbox", "field": "textbox",
    "textfield": "textbox", "textarea": "textbox", "dropdown": "combobox", "select": "combobox",
    "image": "img", "header": "heading", "title": "heading", "tablecell": "cell", "td": "cell",
    "tr": "row", "th": "columnheader", "a": "link", "hyperlink": "link", "toggle": "switch",
}
"""Words analysts write for a role, and the ARIA role that means it."""


class TargetError(ValueError):
    """A target whose worked-out values cannot name an element (e.g. `nth` came out as -1)."""


def is_template(value: Any) -> bool:
    """Whether `value` is text holding a `{{ expression }}`, worked out only when the step runs."""
    return isinstance(value, str) and "{{" in value


def check_role(value: Any) -> Any:
    """`value` when it is a known ARIA role (or an expression); otherwise a ValueError with a did-you-mean."""
    if value is None or is_template(value) or value in ARIA_ROLES:
        return value
    meant = ROLE_FOR_WORD.get(str(value).strip().lower())
    if meant:
        return _raise(f"unknown role '{value}': the ARIA role for it is '{meant}'")
    hint = did_you_mean(str(value), ARIA_ROLES)
    if hint:
        return _raise(f"unknown role '{value}'{hint}")
    return _raise(f"unknown role '{value}': use an ARIA role such as {COMMON_ROLES}")


def check_nth(value: Any) -> Any:
    """`nth` as written: a whole number 0 or more, or an expression checked when the step runs."""
    if value is None or is_template(value):
        return value
    number = _whole_number(value)
    if number is None:
        return _raise(f"must be a whole number, 0 for the first match, 1 for the second ... "
                      f"(or a {{{{ expression }}}}); got {_shown(value)}")
    return number


def check_flag(value: Any) -> Any:
    """`exact` as written: true or false, or an expression checked when the step runs."""
    if value is None or isinstance(value, bool) or is_template(value):
        return value
    return _raise(f"must be true or false (or a {{{{ expression }}}}); got {_shown(value)}")


def _raise(message: str) -> Any:
    raise ValueError(message)


def _whole_number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value() and value >= 0:
        return int(value)
    return None


def _shown(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else str(value)


Role = Annotated[
    str | None, AfterValidator(check_role),
    WithJsonSchema({"anyOf": [{"enum": sorted(ARIA_ROLES)}, {"type": "string", "pattern": r"\{\{"}],
                    "description": "ARIA role, e.g. button, link, textbox, checkbox, dialog, row, cell."}),
]
Nth = Annotated[
    int | str | None, BeforeValidator(check_nth),
    WithJsonSchema({"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": r"\{\{"}],
                    "description": "Pick the n-th match (0 for the first) when several match."}),
]
Flag = Annotated[
    bool | str | None, BeforeValidator(check_flag),
    WithJsonSchema({"anyOf": [{"type": "boolean"}, {"type": "string", "pattern": r"\{\{"}]}),
]


class TargetKeys(BaseModel):
    """The keys every target may use; `TargetFields` and `ScopeTarget` say which combinations are valid."""

    model_config = ConfigDict(extra="forbid")

    label: str | None = Field(None, description="The field's label text, as a person reads it.")
    role: Role = Field(None, description="ARIA role, e.g. button, link, textbox, checkbox, dialog, row, cell.")
    name: str | None = Field(None, description="Accessible name, used with `role`.")
    text: str | None = Field(None, description="Visible text of the element (hidden copies are ignored).")
    placeholder: str | None = Field(None, description="Placeholder text of an input.")
    test_id: str | None = Field(None, description="Value of the test id attribute (bot.test_id_attribute).")
    css: str | None = Field(None, description="CSS selector (fallback).")
    xpath: str | None = Field(None, description="XPath expression (fallback).")
    column: str | None = Field(None, description="The table cell under this column header, e.g. with "
                                                 "within: {row_with_text: Chrome}.")
    within: ScopeTarget | None = Field(None, description="Look only inside this element, e.g. "
                                                         "{row_with_text: Chrome} or {role: dialog}.")
    exact: Flag = Field(True, description="Match label, name, text, placeholder or column exactly.")
    nth: Nth = Field(None, description="Pick the n-th match (0-based) when several match.")

    def strategy(self) -> tuple[str, str]:
        """The strategy in use and its value, e.g. ("label", "Quantity"); ("column", "CPU") for a cell."""
        for key in SCOPE_STRATEGIES + ("column",):
            value = getattr(self, key, None)
            if value is not None:
                return key, value
        raise AssertionError("validated target has no strategy")

    def describe(self) -> str:
        """A short human description for logs and errors, e.g. `link "Edit" in row with text "Chrome"`."""
        return describe_target(self)


class TargetFields(TargetKeys):
    """Target keys shared by every step that acts on an element.

    Exactly one strategy is given: `label`, `role` (with an optional accessible `name`), `text`,
    `placeholder`, `test_id`, or the fallbacks `css` and `xpath`; or `column` alone for a table cell.
    """

    moved_keys: ClassVar[dict[str, str]] = {
        "row_with_text": "it names the row the element is in: write it inside `within`, e.g. "
                         "within: {row_with_text: Chrome}, role: link, name: Edit",
    }

    @model_validator(mode="after")
    def _one_strategy(self) -> TargetFields:
        _check_strategies(self, STRATEGIES, "")
        return self


class ScopeTarget(TargetKeys):
    """The element a `within:` looks inside: any target, or `row_with_text` for a table or grid row.

    `row_with_text` takes the row whose text contains the value, ignoring case; with `exact: true`
    written, the row with a cell whose whole text is the value.
    """

    row_with_text: str | None = Field(None, description="The table or grid row showing this text.")
    exact: Flag = Field(None, description="Match exactly (default true; for row_with_text, false).")

    @model_validator(mode="after")
    def _one_strategy(self) -> ScopeTarget:
        _check_strategies(self, SCOPE_STRATEGIES, " in 'within'")
        return self


def _check_strategies(target: TargetKeys, strategies: tuple[str, ...], where: str) -> None:
    if target.name is not None and target.role is None:
        raise ValueError("`name` needs a `role`, e.g. role: button, name: Submit")
    given = [s for s in strategies if getattr(target, s) is not None]
    choices = ", ".join(strategies)
    if target.column is not None and given:
        raise ValueError(f"`column` names a table cell by its column header and takes no other target; "
                         f"found column and {', '.join(given)} (write e.g. within: {{row_with_text: Chrome}}, "
                         f"column: CPU)")
    if len(given) != 1 and target.column is None:
        found = ", ".join(given) or "none"
        raise ValueError(f"give exactly one target{where} ({choices}); found {found}")


TargetKeys.model_rebuild()
TargetFields.model_rebuild()
ScopeTarget.model_rebuild()


def resolve_target(target: Any, *, scope: bool = False) -> TargetFields | ScopeTarget:
    """`target` (a step's params after its `{{ }}` were worked out, or a mapping) as a checked target.

    `nth` becomes a whole number, `exact` true or false, `role` a known role, other values text, and a
    `within` mapping a `ScopeTarget`. Raises TargetError naming the key when a value cannot be used.
    """
    kind = ScopeTarget if scope else TargetFields
    values: dict[str, Any] = {}
    for key in kind.model_fields:
        value = _value_of(target, key)
        if value is not None:
            values[key] = _resolved_value(key, value)
    if scope and values.get("exact") is None:
        values["exact"] = "row_with_text" not in values
    values.setdefault("exact", True)
    return kind.model_construct(**values)


def _value_of(target: Any, key: str) -> Any:
    if isinstance(target, Mapping):
        return target.get(key)
    return getattr(target, key, None)


def _resolved_value(key: str, value: Any) -> Any:
    if key == "within":
        return resolve_target(value, scope=True)
    if key == "nth":
        number = _whole_number(value)
        if number is None:
            raise TargetError(f"`nth` must be a whole number, 0 for the first match, 1 for the second ...; "
                              f"it came out as {_shown(value)}")
        return number
    if key == "exact":
        if not isinstance(value, bool):
            raise TargetError(f"`exact` must be true or false; it came out as {_shown(value)}")
        return value
    text = value if isinstance(value, str) else _as_text(value)
    if key == "role":
        try:
            check_role(text)
        except ValueError as error:
            raise TargetError(f"`role`: {error}") from None
    return text


def _as_text(value: Any) -> str:
    from bastidor.expr import to_text

    return to_text(value)


def describe_target(target: Any) -> str:
    """`target` (a model or a mapping, before or after its `{{ }}` were worked out) in a few words."""
    key = next((k for k in SCOPE_STRATEGIES + ("column",) if _value_of(target, k) is not None), None)
    if key is None:
        raise AssertionError("validated target has no strategy")
    value = _value_of(target, key)
    name = _value_of(target, "name")
    if key == "role" and name is not None:
        phrase = f'role {value} "{name}"'
    elif key == "column":
        phrase = f'cell in column "{value}"'
    else:
        phrase = f'{key.replace("_", " ")} "{value}"'
    nth = _value_of(target, "nth")
    if nth is not None:
        whole = isinstance(nth, int) and not isinstance(nth, bool) and nth >= 0
        phrase += f" (match number {nth + 1})" if whole else f" (nth {nth})"
    within = _value_of(target, "within")
    return f"{phrase} in {describe_target(within)}" if within is not None else phrase
