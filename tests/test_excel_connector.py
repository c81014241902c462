"""Excel connector: typed streaming reads, precise errors, and writes that never corrupt a workbook."""

from __future__ import annotations

import datetime as dt
import os
import tracemalloc
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from bastidor.connectors import ConnectorError, read_excel_rows, write_excel_rows


def make_workbook(path: Path, sheets: dict[str, list[list]]) -> Path:
    """Save a workbook with one sheet per entry, each row appended as given."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    workbook.save(path)
    return path


def open_fds_to(path: Path) -> int:
    """How many of this process's file descriptors point at ``path`` (Linux /proc)."""
    target = os.path.realpath(path)
    fd_dir = Path("/proc/self/fd")
    return sum(1 for fd in fd_dir.iterdir() if os.path.realpath(fd) == target)


def edit_first_sheet_xml(path: Path, old: str, new: str) -> None:
    """Replace ``old`` with ``new`` in the first worksheet's XML, as another program might have saved it."""
    with zipfile.ZipFile(path) as original:
        parts = {name: original.read(name) for name in original.namelist()}
    sheet_xml = parts["xl/worksheets/sheet1.xml"].decode()
    assert old in sheet_xml
    parts["xl/worksheets/sheet1.xml"] = sheet_xml.replace(old, new).encode()
    with zipfile.ZipFile(path, "w") as rewritten:
        for name, data in parts.items():
            rewritten.writestr(name, data)


@pytest.fixture
def orders(tmp_path: Path) -> Path:
    """A two-sheet orders workbook with money, counts, dates and an empty row."""
    return make_workbook(
        tmp_path / "orders.xlsx",
        {
            "Orders": [
                [" Order ", "Qty", "Price", "Due", "Picked up", "Note"],
                ["A-1", 3, 12.5, dt.datetime(2024, 3, 1), dt.datetime(2024, 3, 1, 14, 30), ""],
                [None, None, None, None, None, None],
                ["A-2", 4, 0.1, dt.datetime(2024, 3, 2), None, "fragile"],
            ],
            "Notes": [["Topic", "Text"], ["x", "y"]],
        },
    )


def test_rows_come_back_typed_for_money_counts_and_dates(orders: Path) -> None:
    first, second = read_excel_rows(orders)
    assert list(first) == ["Order", "Qty", "Price", "Due", "Picked up", "Note"]
    assert first["Price"] == Decimal("12.5") and isinstance(first["Price"], Decimal)
    assert first["Qty"] == 3 and type(first["Qty"]) is int
    assert first["Due"] == dt.date(2024, 3, 1) and type(first["Due"]) is dt.date
    assert first["Picked up"] == dt.datetime(2024, 3, 1, 14, 30)
    assert first["Note"] is None
    assert second["Price"] == Decimal("0.1")
    assert (first.row_number, first.source) == (2, str(orders))


def test_empty_rows_are_skipped_and_row_numbers_stay_true(orders: Path) -> None:
    numbers = [row.row_number for row in read_excel_rows(orders)]
    assert numbers == [2, 4]


def test_sheet_is_picked_by_name(orders: Path) -> None:
    rows = list(read_excel_rows(orders, sheet="Notes"))
    assert rows == [{"Topic": "x", "Text": "y"}]


def test_unknown_sheet_error_lists_the_sheets(orders: Path) -> None:
    with pytest.raises(ConnectorError) as caught:
        list(read_excel_rows(orders, sheet="Ordrs"))
    assert str(caught.value).startswith(f"{orders}: sheet 'Ordrs' not found; sheets are: Orders, Notes")
    assert "did you mean 'Orders'?" in str(caught.value)


@pytest.mark.parametrize(
    ("header", "cell", "reason"),
    [
        (["Order", "Qty", "Qty"], "C1", "duplicate column name 'Qty'"),
        (["Order", None, "Qty"], "B1", "blank column name"),
    ],
)
def test_bad_header_error_names_the_cell(tmp_path: Path, header: list, cell: str, reason: str) -> None:
    path = make_workbook(tmp_path / "orders.xlsx", {"Orders": [header, ["A-1", 1, 2]]})
    with pytest.raises(ConnectorError) as caught:
        list(read_excel_rows(path))
    assert f"sheet 'Orders' cell {cell}: {reason}" in str(caught.value)
    assert (caught.value.line, caught.value.cell) == (1, cell)


def test_header_row_option_skips_a_title_above_the_table(tmp_path: Path) -> None:
    sheets = {"R": [["Monthly report"], [], ["Id", "Total"], [7, 1.25]]}
    path = make_workbook(tmp_path / "report.xlsx", sheets)
    rows = list(read_excel_rows(path, header_row=3))
    assert rows == [{"Id": 7, "Total": Decimal("1.25")}] and rows[0].row_number == 4


def test_rows_past_a_wrong_dimension_tag_are_still_read(tmp_path: Path) -> None:
    path = make_workbook(tmp_path / "export.xlsx", {"Export": [["Id"], [1], [2], [3]]})
    edit_first_sheet_xml(path, '<dimension ref="A1:A4" />', '<dimension ref="A1:A2" />')
    assert [row["Id"] for row in read_excel_rows(path)] == [1, 2, 3]


def test_value_under_an_unnamed_column_is_reported(tmp_path: Path) -> None:
    path = make_workbook(tmp_path / "orders.xlsx", {"Orders": [["Id", "Qty"], [1, 2, "stray"]]})
    with pytest.raises(ConnectorError, match=r"cell C2: this cell has a value but its column has no name"):
        list(read_excel_rows(path))


def test_more_rows_than_max_rows_is_refused(orders: Path) -> None:
    with pytest.raises(ConnectorError, match=r"row 4: the sheet has more than 1 data rows \(max_rows: 1\)"):
        list(read_excel_rows(orders, max_rows=1))
    assert len(list(read_excel_rows(orders, max_rows=2))) == 2


def test_formulas_cached_gives_last_calculated_value_and_reject_names_the_cell(tmp_path: Path) -> None:
    path = make_workbook(tmp_path / "calc.xlsx", {"Calc": [["Qty", "Double"], [5, "=A2*2"]]})
    edit_first_sheet_xml(path, "<f>A2*2</f><v />", "<f>A2*2</f><v>10</v>")  # as Excel saves it
    assert list(read_excel_rows(path)) == [{"Qty": 5, "Double": 10}]
    with pytest.raises(ConnectorError) as caught:
        list(read_excel_rows(path, formulas="reject"))
    assert str(caught.value) == (
        f"{path}: sheet 'Calc' cell B2: this cell holds a formula; "
        "save the sheet with values only or use formulas: cached"
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"PK\x03\x04 truncated zip", "the file is damaged or is not a valid .xlsx workbook"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 old xls", "old-style .xls workbook"),
        (b"Id,Qty\n1,2\n", "not an Excel .xlsx workbook; for a text file with separators use the CSV"),
    ],
)
def test_unreadable_file_gets_a_plain_message(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "orders.xlsx"
    path.write_bytes(content)
    with pytest.raises(ConnectorError, match=expected) as caught:
        list(read_excel_rows(path))
    assert "Traceback" not in str(caught.value) and str(caught.value).startswith(str(path))


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConnectorError, match=r"missing\.xlsx: file not found"):
        list(read_excel_rows(tmp_path / "missing.xlsx"))


def test_workbook_file_is_closed_after_reading_or_stopping_early(orders: Path) -> None:
    list(read_excel_rows(orders))
    assert open_fds_to(orders) == 0
    rows = read_excel_rows(orders)
    next(rows)
    assert open_fds_to(orders) == 1
    rows.close()
    assert open_fds_to(orders) == 0


def test_large_workbook_streams_in_a_fraction_of_the_memory_of_a_full_load(tmp_path: Path) -> None:
    path = tmp_path / "big.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Price"])
    for number in range(50_000):
        sheet.append([number + 0.25])
    workbook.save(path)
    del workbook, sheet

    tracemalloc.start()
    try:
        count = sum(1 for _ in read_excel_rows(path))
        streaming_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        openpyxl.load_workbook(path).close()
        full_load_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 50_000
    assert streaming_peak * 3 < full_load_peak


def test_writing_creates_a_workbook_with_numbers_and_dates(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    rows = [{"Id": "A-1", "Total": Decimal("12.50"), "Due": dt.date(2024, 3, 1)}, {"Id": "A-2"}]
    assert write_excel_rows(path, rows, sheet="Out") == 2
    sheet = openpyxl.load_workbook(path)["Out"]
    assert [cell.value for cell in sheet[1]] == ["Id", "Total", "Due"]
    assert sheet["B2"].data_type == "n" and sheet["B2"].value == 12.5
    assert sheet["C2"].is_date and sheet["C2"].value.date() == dt.date(2024, 3, 1)
    assert sheet["B3"].value is None
    assert list(read_excel_rows(path)) == [
        {"Id": "A-1", "Total": Decimal("12.5"), "Due": dt.date(2024, 3, 1)},
        {"Id": "A-2", "Total": None, "Due": None},
    ]


def test_replace_rewrites_the_sheet_and_keeps_the_others(orders: Path) -> None:
    write_excel_rows(orders, [{"Order": "B-9", "Qty": 1}], sheet="Orders")
    assert list(read_excel_rows(orders, sheet="Orders")) == [{"Order": "B-9", "Qty": 1}]
    assert list(read_excel_rows(orders, sheet="Notes")) == [{"Topic": "x", "Text": "y"}]
    assert openpyxl.load_workbook(orders).sheetnames == ["Orders", "Notes"]


def test_append_adds_rows_under_existing_ones_and_keeps_other_sheets(orders: Path) -> None:
    new_row = {"Order": "A-3", "Qty": 7, "Price": Decimal("9.99")}
    written = write_excel_rows(orders, [new_row], sheet="Orders", mode="append")
    rows = list(read_excel_rows(orders, sheet="Orders"))
    assert written == 1
    assert [row["Order"] for row in rows] == ["A-1", "A-2", "A-3"]
    assert rows[-1]["Price"] == Decimal("9.99") and rows[-1]["Note"] is None and rows[-1].row_number == 5
    assert list(read_excel_rows(orders, sheet="Notes")) == [{"Topic": "x", "Text": "y"}]


def test_append_adds_a_new_column_to_the_header(orders: Path) -> None:
    write_excel_rows(orders, [{"Order": "A-3", "Carrier": "DHL"}], sheet="Orders", mode="append")
    rows = list(read_excel_rows(orders, sheet="Orders"))
    assert list(rows[0]) == ["Order", "Qty", "Price", "Due", "Picked up", "Note", "Carrier"]
    assert [row["Carrier"] for row in rows] == [None, None, "DHL"]


def test_append_to_a_missing_sheet_creates_it_with_a_header(orders: Path) -> None:
    write_excel_rows(orders, [{"Order": "A-1", "Reason": "out of stock"}], sheet="Exceptions", mode="append")
    assert list(read_excel_rows(orders, sheet="Exceptions")) == [{"Order": "A-1", "Reason": "out of stock"}]


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://evil\",\"x\")", "+1+1", "-2+3", "@SUM(A1)"])
def test_formula_like_text_is_written_as_literal_text(tmp_path: Path, text: str) -> None:
    path = tmp_path / "out.xlsx"
    write_excel_rows(path, [{"Comment": text}])
    cell = openpyxl.load_workbook(path).active["A2"]
    assert (cell.data_type, cell.value) == ("s", text)
    assert cell.quotePrefix is True
    assert list(read_excel_rows(path, formulas="reject")) == [{"Comment": text}]


def test_value_excel_cannot_hold_is_named_and_the_file_is_untouched(orders: Path) -> None:
    before = orders.read_bytes()
    with pytest.raises(ConnectorError) as caught:
        rows = [{"Order": "A-3"}, {"Order": "A-4", "Items": ["x", "y"]}]
        write_excel_rows(orders, rows, sheet="Orders", mode="append")
    expected = "sheet 'Orders' cell G6: the value for column 'Items' (a list) cannot be written"
    assert expected in str(caught.value)
    assert orders.read_bytes() == before
    assert sorted(p.name for p in orders.parent.iterdir()) == ["orders.xlsx"]


def test_failed_swap_leaves_the_workbook_byte_identical(
    orders: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = orders.read_bytes()

    def refuse(*_args: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(ConnectorError, match="could not be saved .*the old file is unchanged"):
        write_excel_rows(orders, [{"Order": "A-3"}], sheet="Orders", mode="append")
    assert orders.read_bytes() == before
    assert sorted(p.name for p in orders.parent.iterdir()) == ["orders.xlsx"]


def test_crash_while_saving_leaves_no_partial_file(orders: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = orders.read_bytes()

    def half_save(self: openpyxl.Workbook, handle: object) -> None:
        handle.write(b"PK\x03\x04 half a workbook")
        raise RuntimeError("disk went away")

    monkeypatch.setattr(openpyxl.Workbook, "save", half_save)
    with pytest.raises(RuntimeError, match="disk went away"):
        write_excel_rows(orders, [{"Order": "A-3"}], sheet="Orders")
    assert orders.read_bytes() == before
    assert sorted(p.name for p in orders.parent.iterdir()) == ["orders.xlsx"]


def test_writing_into_a_damaged_workbook_is_refused_and_it_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "orders.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ConnectorError, match="damaged"):
        write_excel_rows(path, [{"Order": "A-1"}], mode="append")
    assert path.read_bytes() == b"PK\x03\x04 not really a zip"
