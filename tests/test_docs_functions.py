"""The function tables of docs/flow-language.md and the expression language agree: every function is in the
tables, nothing in them is missing from the language, and every example gives the result written beside it."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path

from bastidor.expr import compile_expression
from bastidor.expr.functions import FUNCTIONS

DOC = Path(__file__).resolve().parents[1] / "docs" / "flow-language.md"
ROWS = [{"Invoice": "INV-1", "Due": "$1,200.00", "Status": "Open"},
        {"Invoice": "INV-2", "Due": "$80.50", "Status": "Paid"},
        {"Invoice": "INV-3", "Due": "$300.00", "Status": "Open"}]
"""The table the docs' examples read as `rows`, every cell text as `extract_table` gives it."""


def documented_rows() -> list[tuple[str, str, str]]:
    """(first cell, example, result) of each row of the tables under **Functions.**"""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("**Functions.**", 1)[1].split("\n### ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[1].startswith("`") and cells[2].startswith("`"):
            rows.append((cells[0], cells[1].strip("`"), cells[2].strip("`")))
    return rows


def shown(value) -> str:
    """A value written as the docs' Result column writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(shown(item) for item in value) + "]"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def test_every_function_of_the_language_is_in_the_docs_tables_and_every_listed_one_exists():
    listed = {name for first, _, _ in documented_rows() for name in re.findall(r"`(\w+)\(", first)}
    assert listed, "no function rows found under **Functions.** in docs/flow-language.md"
    assert set(FUNCTIONS) - listed == set(), "functions missing from the docs' tables"
    assert listed - set(FUNCTIONS) == set(), "the docs' tables list functions the language does not have"


def test_every_example_in_the_docs_tables_gives_the_result_written_beside_it():
    wrong = []
    for first, example, result in documented_rows():
        value = compile_expression(example).evaluate({"rows": ROWS}, today=dt.date(2024, 5, 17))
        if shown(value) != result:
            wrong.append(f"{example} gave {shown(value)}, the docs say {result}")
    assert wrong == []
