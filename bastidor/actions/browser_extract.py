"""Browser steps that read from the page into variables: texts, values, attributes, tables, counts, ticks.

Each step returns the value it read as its result (`{"value": ...}`), so the audit record and the report
show it, masked like every other value. A long list is recorded by its first `RECORDED_ITEMS` entries
and its length; the variable always gets all of it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from bastidor.actions.base import ElementParams, Into, element, shown_text, timeout_of
from bastidor.actions.registry import action
from bastidor.executor.errors import StepError
from bastidor.flow.types import DurationMs

RECORDED_ITEMS = 200
TABLE_PROBLEMS = {
    "not_a_table": "{target} is not a table: point the target at a <table>, or at an element with role "
                   "table or grid",
    "no_header": "the table {target} has no header row (no <th> or role=columnheader cells), so its columns "
                 "have no names; read its cells with extract_all_text instead",
    "no_rows": "the table {target} has no data rows; set allow_empty: true if an empty table is normal",
}


def recorded(value: Any) -> dict[str, Any]:
    """The result a reading step records: the value, or for a long list its first entries and its length."""
    if isinstance(value, list) and len(value) > RECORDED_ITEMS:
        return {"value": value[:RECORDED_ITEMS], "count": len(value), "recorded": RECORDED_ITEMS}
    return {"value": value}


def _timed_out(exc: Exception) -> bool:
    return "Timeout" in type(exc).__name__


def _any_match(locator: Any, timeout_ms: int) -> bool:
    """Whether anything matches `locator`: now, or (for a timeout above 0) once something appears in time."""
    if locator.count():
        return True
    if not timeout_ms:
        return False
    try:
        locator.first.wait_for(state="attached", timeout=timeout_ms)
    except Exception as exc:  # nothing within the timeout is an answer, not a failure
        if not _timed_out(exc):
            raise
        return False
    return True


class ExtractParams(ElementParams, Into):
    """Read something from an element into a variable."""


@action("extract_text", params=ExtractParams, kind="browser", describe="Read the text of {target} into {into:plain}")
def extract_text(ctx, params):
    """Read an element's visible text (without icon-font glyphs) into a variable."""
    text = shown_text(element(ctx, params).inner_text(timeout=timeout_of(ctx, params)))
    ctx.set_variable(params.into, text)
    return recorded(text)


@action("extract_value", params=ExtractParams, kind="browser",
        describe="Read the value of {target} into {into:plain}")
def extract_value(ctx, params):
    """Read the current value of an input, select or text area into a variable."""
    value = element(ctx, params).input_value(timeout=timeout_of(ctx, params))
    ctx.set_variable(params.into, value)
    return recorded(value)


class ExtractAttributeParams(ExtractParams):
    """Read an attribute of an element."""

    attribute: str = Field(description="Attribute name, e.g. href.")


@action("extract_attribute", params=ExtractAttributeParams, kind="browser",
        describe="Read the attribute {attribute:plain} of {target} into {into:plain}")
def extract_attribute(ctx, params):
    """Read an element's attribute (e.g. a link's href) into a variable."""
    value = element(ctx, params).get_attribute(params.attribute, timeout=timeout_of(ctx, params))
    ctx.set_variable(params.into, value)
    return recorded(value)


class ExtractAllTextParams(ExtractParams):
    """Read the texts of every element the target matches."""

    allow_empty: bool = Field(False, description="Accept that nothing matches (an empty list) instead of failing.")


@action("extract_all_text", params=ExtractAllTextParams, kind="browser",
        describe="Read the text of every match of {target} into {into:plain}")
def extract_all_text(ctx, params):
    """Read the visible text of every element the target matches, in page order, as a list."""
    locator = element(ctx, params)
    if not _any_match(locator, timeout_of(ctx, params)) and not params.allow_empty:
        raise StepError(f"nothing matches {params.describe()}; set allow_empty: true if none is normal")
    texts = [shown_text(text) for text in locator.all_inner_texts()]
    ctx.set_variable(params.into, texts)
    return recorded(texts)


class ExtractTableParams(ExtractParams):
    """Read a whole table."""

    numbers: bool = Field(False, description="Turn cells that look like numbers or money (e.g. $1,234.50) "
                                             "into exact numbers.")
    decimal: Literal[".", ","] = Field(".", description="The decimal separator of the table's numbers: "
                                                        "\",\" for 1.234,50.")
    allow_empty: bool = Field(False, description="Accept a table with no data rows (an empty list) instead "
                                                 "of failing.")


@action("extract_table", params=ExtractTableParams, kind="browser",
        describe=lambda w: f"Read the table in {w.target} into {w['into']:plain}"
                           + (" (numbers as numbers)" if w.raw("numbers") else "")
                           + (" (decimal comma)" if w.raw("decimal") == "," else ""))
def extract_table(ctx, params):
    """Read a whole HTML or ARIA table into a list of rows keyed by the header cells."""
    from bastidor.bots.tables import TableProblem, read_table

    try:
        table = read_table(element(ctx, params), timeout_ms=timeout_of(ctx, params), allow_empty=params.allow_empty)
    except TableProblem as problem:
        raise StepError(TABLE_PROBLEMS[problem.kind].format(target=params.describe())) from None
    rows = table.records(numbers=params.numbers, decimal=params.decimal)
    ctx.set_variable(params.into, rows)
    return {"rows": len(rows), "columns": table.columns(), **recorded(rows)}


class ReadNowParams(ExtractParams):
    """Read a state of the page without failing: look now, or wait up to a timeout."""

    timeout: DurationMs | None = Field(0, description="How long to wait for it to appear (default: do not wait).")


@action("is_visible", params=ReadNowParams, kind="browser",
        describe="Note in {into:plain} whether {target} is visible (yes or no)")
def is_visible(ctx, params):
    """Store true or false: is the element visible now (or within the timeout)?"""
    shown = element(ctx, params).filter(visible=True).first
    visible = shown.is_visible()
    if not visible and params.timeout:
        try:
            shown.wait_for(state="visible", timeout=params.timeout)
            visible = True
        except Exception as exc:  # a timeout here is the answer "no", not a failure
            if not _timed_out(exc):
                raise
    ctx.set_variable(params.into, visible)
    return recorded(visible)


@action("count", params=ReadNowParams, kind="browser",
        describe="Count the matches of {target} into {into:plain}")
def count(ctx, params):
    """Store how many elements the target matches now (0 when none; with a timeout, once one appears)."""
    locator = element(ctx, params)
    _any_match(locator, params.timeout or 0)
    found = locator.count()
    ctx.set_variable(params.into, found)
    return recorded(found)


@action("is_checked", params=ExtractParams, kind="browser",
        describe="Note in {into:plain} whether {target} is ticked (yes or no)")
def is_checked(ctx, params):
    """Store true or false: is the checkbox (or radio button, or switch) ticked?"""
    try:
        checked = element(ctx, params).is_checked(timeout=timeout_of(ctx, params))
    except Exception as exc:
        if "Not a checkbox or radio button" not in str(exc):
            raise
        raise StepError(f"{params.describe()} is not a checkbox, radio button or switch") from None
    ctx.set_variable(params.into, checked)
    return recorded(checked)
