"""Browser steps that read from the page into variables: text, values, attributes, tables."""

from __future__ import annotations

from pydantic import Field

from bastidor.actions.base import ElementParams, Into, element, timeout_of
from bastidor.actions.registry import action
from bastidor.flow.types import DurationMs

_TABLE_JS = """table => {
  const text = cell => cell.innerText.replace(/\\s+/g, ' ').trim();
  const rows = Array.from(table.querySelectorAll('tr'));
  const headRow = table.querySelector('thead tr') || rows[0];
  if (!headRow) return {header: [], rows: []};
  const header = Array.from(headRow.children).map(text);
  const body = rows.filter(r => r !== headRow && r.closest('table') === table);
  return {header, rows: body.map(r => Array.from(r.children).map(text))};
}"""


class ExtractParams(ElementParams, Into):
    """Read something from an element into a variable."""


@action("extract_text", params=ExtractParams, kind="browser", describe="Read the text of {target} into {into:plain}")
def extract_text(ctx, params):
    """Read an element's visible text into a variable."""
    text = element(ctx, params).inner_text(timeout=timeout_of(ctx, params))
    ctx.set_variable(params.into, text.strip())


@action("extract_value", params=ExtractParams, kind="browser",
        describe="Read the value of {target} into {into:plain}")
def extract_value(ctx, params):
    """Read the current value of an input, select or text area into a variable."""
    ctx.set_variable(params.into, element(ctx, params).input_value(timeout=timeout_of(ctx, params)))


class ExtractAttributeParams(ExtractParams):
    """Read an attribute of an element."""

    attribute: str = Field(description="Attribute name, e.g. href.")


@action("extract_attribute", params=ExtractAttributeParams, kind="browser",
        describe="Read the attribute {attribute:plain} of {target} into {into:plain}")
def extract_attribute(ctx, params):
    """Read an element's attribute (e.g. a link's href) into a variable."""
    value = element(ctx, params).get_attribute(params.attribute, timeout=timeout_of(ctx, params))
    ctx.set_variable(params.into, value)


@action("extract_table", params=ExtractParams, kind="browser", describe="Read the table in {target} into {into:plain}")
def extract_table(ctx, params):
    """Read a whole HTML table into a list of rows keyed by the header cells."""
    locator = element(ctx, params)
    locator.wait_for(state="attached", timeout=timeout_of(ctx, params))
    table = locator.evaluate(_TABLE_JS)
    header = [name or f"column {i}" for i, name in enumerate(table["header"], 1)]
    rows = [dict(zip(header, cells)) for cells in table["rows"] if cells]
    ctx.set_variable(params.into, rows)
    return {"rows": len(rows)}


class IsVisibleParams(ExtractParams):
    """Check whether an element is visible, without failing."""

    timeout: DurationMs | None = Field(0, description="How long to wait for it to appear (default: do not wait).")


@action("is_visible", params=IsVisibleParams, kind="browser",
        describe="Note in {into:plain} whether {target} is visible (yes or no)")
def is_visible(ctx, params):
    """Store true or false: is the element visible now (or within the timeout)?"""
    locator = element(ctx, params)
    visible = locator.first.is_visible()
    if not visible and params.timeout:
        try:
            locator.first.wait_for(state="visible", timeout=params.timeout)
            visible = True
        except Exception as exc:  # a timeout here is the answer "no", not a failure
            if "Timeout" not in type(exc).__name__:
                raise
    ctx.set_variable(params.into, visible)
