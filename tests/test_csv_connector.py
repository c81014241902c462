"""CSV connector: separator sniffing, located errors, plain writing and safe appends."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

import pytest

from bastidor.connectors import ConnectorError, read_csv_rows, write_csv_rows


def write_text(path: Path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` exactly (no newline translation) and return the path."""
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("separator", [",", ";", "\t", "|"])
def test_separator_is_sniffed(tmp_path: Path, separator: str) -> None:
    text = separator.join(["Order", "Qty", "Price"]) + "\n" + separator.join(["A-1", "3", "12.50"]) + "\n"
    path = write_text(tmp_path / "orders.csv", text)
    assert list(read_csv_rows(path)) == [{"Order": "A-1", "Qty": "3", "Price": "12.50"}]


def test_semicolon_file_with_decimal_commas_is_not_mistaken_for_commas(tmp_path: Path) -> None:
    path = write_text(tmp_path / "precos.csv", "Produto;Preço;Qtd\nCaneta;1,50;3\nLápis;0,75;10\n")
    rows = list(read_csv_rows(path))
    assert rows[1] == {"Produto": "Lápis", "Preço": "0,75", "Qtd": "10"}


def test_values_are_stripped_and_empty_values_are_none(tmp_path: Path) -> None:
    path = write_text(tmp_path / "orders.csv", "\ufeff Order , Note\n A-1 ,  \n\n,\nA-2,fragile\n")
    rows = list(read_csv_rows(path))
    assert rows == [{"Order": "A-1", "Note": None}, {"Order": "A-2", "Note": "fragile"}]
    assert [row.row_number for row in rows] == [2, 5]
    assert rows[0].source == str(path)


def test_explicit_delimiter_is_used_as_given(tmp_path: Path) -> None:
    path = write_text(tmp_path / "orders.csv", "a,b;c\n1,2;3\n")
    assert list(read_csv_rows(path, delimiter=";")) == [{"a,b": "1,2", "c": "3"}]


def test_ragged_row_error_names_the_line_it_starts_on(tmp_path: Path) -> None:
    text = 'Order,Qty,Note\nA-1,1,"two\nlines"\nA-2,2,ok,extra\n'
    path = write_text(tmp_path / "orders.csv", text)
    with pytest.raises(ConnectorError) as caught:
        list(read_csv_rows(path))
    assert str(caught.value).startswith(f"{path}:4: row has 4 values but the header has 3 columns")
    assert caught.value.line == 4


def test_short_row_is_an_error_but_trailing_empty_separators_are_fine(tmp_path: Path) -> None:
    path = write_text(tmp_path / "orders.csv", "Order,Qty\nA-1,1,,\nA-2\n")
    rows = read_csv_rows(path)
    assert next(rows) == {"Order": "A-1", "Qty": "1"}
    with pytest.raises(ConnectorError, match=r"orders\.csv:3: row has 1 values but the header has 2 columns"):
        next(rows)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("Order,Qty,Qty", "header column 3: duplicate column name 'Qty'"),
        ("Order,,Qty", "header column 2: blank column name"),
    ],
)
def test_bad_header_is_reported_on_line_one(tmp_path: Path, header: str, reason: str) -> None:
    path = write_text(tmp_path / "orders.csv", header + "\n1,2,3\n")
    with pytest.raises(ConnectorError, match=f"orders\\.csv:1: {reason}"):
        list(read_csv_rows(path))


def test_empty_file_asks_for_a_header(tmp_path: Path) -> None:
    path = write_text(tmp_path / "orders.csv", "\n\n")
    with pytest.raises(ConnectorError, match="the file is empty; it needs a header line"):
        list(read_csv_rows(path))


def test_undecodable_bytes_name_the_line_and_hint_at_the_encoding(tmp_path: Path) -> None:
    path = write_text(tmp_path / "clientes.csv", "Nome,Cidade\nAna,Recife\nJosé,São Paulo\n", "cp1252")
    with pytest.raises(ConnectorError) as caught:
        list(read_csv_rows(path))
    assert caught.value.line == 3
    assert "not valid utf-8-sig text (byte 0xe9)" in str(caught.value)
    assert "cp1252" in str(caught.value)
    assert list(read_csv_rows(path, encoding="cp1252"))[1] == {"Nome": "José", "Cidade": "São Paulo"}


def test_excel_workbook_given_as_csv_gets_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes(b"PK\x03\x04\x14\x00\x06\x00\x08\x00\xb4\xe3")
    with pytest.raises(ConnectorError, match="looks like an Excel workbook; use the Excel connector"):
        list(read_csv_rows(path))


def test_more_rows_than_max_rows_is_refused(tmp_path: Path) -> None:
    path = write_text(tmp_path / "orders.csv", "Order\nA-1\nA-2\nA-3\n")
    with pytest.raises(ConnectorError, match=r"orders\.csv:4: the file has more than 2 data rows"):
        list(read_csv_rows(path, max_rows=2))


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConnectorError, match=r"nope\.csv: file not found"):
        list(read_csv_rows(tmp_path / "nope.csv"))


def test_written_values_are_plain_and_formula_text_is_quoted(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    rows = [
        {"Id": "A-1", "Total": Decimal("1E+2"), "Due": dt.date(2024, 3, 1), "Note": "=cmd|' /C calc'!A0"},
        {"Id": "A-2", "Total": Decimal("-12.50"), "Due": dt.datetime(2024, 3, 1, 9, 30), "Note": "-12.5"},
        {"Id": "A-3", "Note": "@SUM(A1)"},
    ]
    assert write_csv_rows(path, rows) == 3
    assert path.read_bytes().decode() == (
        "Id,Total,Due,Note\r\n"
        "A-1,100,2024-03-01,'=cmd|' /C calc'!A0\r\n"
        "A-2,-12.50,2024-03-01 09:30:00,-12.5\r\n"
        "A-3,,,'@SUM(A1)\r\n"
    )


def test_columns_option_picks_and_orders_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    write_csv_rows(path, [{"Id": 1, "Secret": "x", "Name": "Ana"}], columns=["Name", "Id"])
    assert path.read_bytes() == b"Name,Id\r\nAna,1\r\n"


def test_append_keeps_existing_bytes_and_adds_rows(tmp_path: Path) -> None:
    path = write_text(tmp_path / "log.csv", "Order;Status\nA-1;done\nA-2;\"failed; retried\"")
    before = path.read_bytes()
    assert write_csv_rows(path, [{"Status": "done", "Order": "A-3"}], mode="append", delimiter=";") == 1
    after = path.read_bytes()
    assert after.startswith(before)
    assert after[len(before) :] == b"\nA-3;done\n"
    assert [row["Order"] for row in read_csv_rows(path)] == ["A-1", "A-2", "A-3"]


def test_append_with_a_new_column_widens_the_header(tmp_path: Path) -> None:
    path = write_text(tmp_path / "log.csv", "Order,Status\r\nA-1,done\r\n")
    write_csv_rows(path, [{"Order": "A-2", "Carrier": "DHL"}], mode="append")
    assert path.read_bytes() == b"Order,Status,Carrier\r\nA-1,done,\r\nA-2,,DHL\r\n"


def test_append_to_a_missing_file_writes_the_header(tmp_path: Path) -> None:
    path = tmp_path / "new.csv"
    write_csv_rows(path, [{"Order": "A-1"}], mode="append")
    write_csv_rows(path, [{"Order": "A-2"}], mode="append")
    assert path.read_bytes() == b"Order\r\nA-1\r\nA-2\r\n"


def test_append_with_the_wrong_separator_is_refused(tmp_path: Path) -> None:
    path = write_text(tmp_path / "log.csv", "Order;Status\nA-1;done\n")
    with pytest.raises(ConnectorError, match="separates values with ';' but delimiter ',' was asked for"):
        write_csv_rows(path, [{"Order": "A-2"}], mode="append")
    assert path.read_bytes() == b"Order;Status\nA-1;done\n"


def test_append_in_another_encoding_is_refused_before_writing(tmp_path: Path) -> None:
    path = write_text(tmp_path / "log.csv", "Nome,Cidade\nJosé,Recife\n", "cp1252")
    before = path.read_bytes()
    with pytest.raises(ConnectorError, match="not valid utf-8 text, so rows cannot be appended safely"):
        write_csv_rows(path, [{"Nome": "Ana"}], mode="append")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.csv"]


def test_failed_append_leaves_the_file_byte_identical(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_text(tmp_path / "log.csv", "Order,Status\nA-1,done\n")
    before = path.read_bytes()

    def refuse(*_args: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(ConnectorError, match="could not be saved .*the old file is unchanged"):
        write_csv_rows(path, [{"Order": "A-2"}], mode="append")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.csv"]
