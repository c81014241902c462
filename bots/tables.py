"""Reading a table from the page: HTML `<table>`s and ARIA tables and grids, as rows keyed by column header.

A table is a `<table>` or an element with role table, grid or treegrid; its rows are `tr` or role=row, its
cells `td`, `th` or role cell, gridcell, rowheader or columnheader. The header row is the last row of the
`<thead>`, else the first row made only of header cells (`th` or role=columnheader). A table with no header
row, or (unless empty is allowed) with no data rows, is a `TableProblem`: never a silent empty list.

With `numbers`, cells that read as numbers become exact Decimals, by the rule of the expressions'
`parse_money` with the table's decimal separator (default "."): `1234`, `-12.5`, `1,234.50`, money such as
`$1,234.50`, `-€25.00`, `USD 1,234.50`, `1,234.50 EUR`, and `(1,234.50)` for a negative amount. Text such as
`12.5%`, `SO-1001`, `n/a`, an id with leading zeros (`00123`), or `1.234,50` when the separator is ".",
stays text.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from playwright.sync_api import Locator
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

READ_TABLE_JS = r"""element => {
  const TABLE = 'table, [role=table], [role=grid], [role=treegrid]';
  const ROW = 'tr, [role=row]';
  const CELL = 'td, th, [role=cell], [role=gridcell], [role=rowheader], [role=columnheader]';
  const table = element.matches(TABLE) ? element : (element.querySelector(TABLE) || element.closest(TABLE));
  if (!table) return {problem: 'not_a_table', header: [], rows: []};
  const text = cell => cell.innerText.replace(/[\ue000-\uf8ff]/g, '').replace(/\s+/g, ' ').trim();
  const rows = Array.from(table.querySelectorAll(ROW)).filter(row => row.parentElement.closest(TABLE) === table);
  const cellsOf = row => Array.from(row.querySelectorAll(CELL)).filter(cell => cell.closest(ROW) === row);
  const isHeaderCell = cell => cell.matches('th, [role=columnheader]');
  const headRow = rows.filter(row => row.closest('thead')).pop()
    || rows.find(row => { const cells = cellsOf(row); return cells.length && cells.every(isHeaderCell); });
  if (!headRow) return {problem: 'no_header', header: [], rows: []};
  const body = rows.filter(row => row !== headRow && !row.closest('thead'));
  return {problem: null, header: cellsOf(headRow).map(text),
          rows: body.map(row => cellsOf(row).map(text)).filter(cells => cells.length)};
}"""

WAIT_FOR_ROWS_JS = f"""element => {{
  const table = ({READ_TABLE_JS})(element);
  return (table.problem || table.rows.length) ? table : null;
}}"""


class TableProblem(Exception):
    """The element read is not a usable table: `kind` is not_a_table, no_header or no_rows."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


@dataclass(frozen=True)
class Table:
    """A table as read: the header cells' texts and each data row's cell texts."""

    header: list[str]
    rows: list[list[str]]

    def columns(self) -> list[str]:
        """The column names: each header's text, `column N` for an empty one, `Name (2)` for a repeat."""
        names: list[str] = []
        for index, text in enumerate(self.header, 1):
            name = text or f"column {index}"
            repeat = 2
            while name in names:
                name, repeat = f"{text or f'column {index}'} ({repeat})", repeat + 1
            names.append(name)
        return names

    def records(self, *, numbers: bool = False, decimal: str = ".") -> list[dict[str, Any]]:
        """Each data row keyed by column name; a short row gets "" for the cells it lacks, a long row
        `column N` keys for the cells beyond the header. With `numbers`, cells that read as numbers (with
        `decimal` as the decimal separator) are Decimals."""
        names = self.columns()
        records = []
        for cells in self.rows:
            keys = names + [f"column {index}" for index in range(len(names) + 1, len(cells) + 1)]
            values = cells + [""] * (len(keys) - len(cells))
            records.append({key: number_or_text(value, decimal) if numbers else value
                            for key, value in zip(keys, values)})
        return records


def read_table(locator: Locator, *, timeout_ms: int, allow_empty: bool) -> Table:
    """The table at `locator` (the table itself, an element holding it or one inside it).

    Waits up to `timeout_ms` for the element and, unless `allow_empty`, for its first data row. Raises
    TableProblem when it is not a table, has no header row, or has no data rows that are needed."""
    deadline = time.monotonic() + timeout_ms / 1000
    locator.wait_for(state="attached", timeout=timeout_ms)
    raw = locator.evaluate(READ_TABLE_JS)
    if not raw["problem"] and not raw["rows"] and not allow_empty:
        raw = _wait_for_rows(locator, max(1, int((deadline - time.monotonic()) * 1000))) or raw
    if raw["problem"]:
        raise TableProblem(raw["problem"])
    if not raw["rows"] and not allow_empty:
        raise TableProblem("no_rows")
    return Table(raw["header"], raw["rows"])


def _wait_for_rows(locator: Locator, timeout_ms: int) -> dict[str, Any] | None:
    try:
        handle = locator.element_handle(timeout=timeout_ms)
        waited = locator.page.wait_for_function(WAIT_FOR_ROWS_JS, arg=handle, timeout=timeout_ms)
        return waited.json_value()
    except PlaywrightTimeoutError:
        return None


_ID_WITH_LEADING_ZEROS = re.compile(r"\s*0\d+\s*")


def parse_number(text: str, decimal: str = ".") -> Decimal | None:
    """`text` as an exact Decimal when it reads as a number or an amount of money, else None.

    The rule is the expressions' `parse_money(text, decimal)` (bastidor.expr.money), with the table's decimal
    separator given, so nothing is guessed: `$1,234.50` -> 1234.50, `(1,234.50)` -> -1234.50, and with
    decimal "," `1.234,50 €` -> 1234.50. An id with leading zeros (`00123`) stays text."""
    from bastidor.expr.errors import ExpressionEvalError
    from bastidor.expr.money import parse_money

    if _ID_WITH_LEADING_ZEROS.fullmatch(text):
        return None
    try:
        return parse_money(text, decimal)
    except ExpressionEvalError:
        return None


def number_or_text(text: str, decimal: str = ".") -> Decimal | str:
    """`text` as a Decimal when it reads as a number (see `parse_number`), else the text unchanged."""
    number = parse_number(text, decimal)
    return text if number is None else number
