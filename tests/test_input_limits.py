"""Bounded, visible inputs: zip bombs and oversized files are refused up front, and "no rows" is never silent."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import tracemalloc
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import openpyxl
import pytest
from pydantic import ValidationError

from bastidor.actions.data_files import ReadCsvParams, ReadExcelParams, require_rows
from bastidor.connectors import ConnectorError, read_csv_rows, read_excel_rows, write_excel_rows
from bastidor.connectors.rows import DEFAULT_MAX_ROWS
from bastidor.connectors.unpack_limits import (
    MAX_PARTS,
    MAX_SETTABLE_UNPACKED_MB,
    MAX_UNPACKED_MB,
    check_unpacked_size,
)
from bastidor.executor.errors import StepError

REPO = Path(__file__).resolve().parents[1]
MB = 1 << 20
SHEET = "xl/worksheets/sheet1.xml"
SHEET_HEAD = (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
              b'<row r="1"><c r="A1" t="inlineStr"><is><t>order_id</t></is></c></row>')
SHEET_FOOT = b"</sheetData></worksheet>"
LOCAL_HEADER = struct.Struct("<4s5H3L2H")
CENTRAL_HEADER = struct.Struct("<4s6H3L5H2L")


@dataclass
class Part:
    """One zip member as stored: its packed bytes and what the table of contents declares for it."""

    name: str
    packed: bytes
    crc: int
    size: int


def fresh_block(data: bytes, final: bool = True) -> bytes:
    """``data`` deflated without reference to anything before it; not final, it ends on a byte boundary."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush(zlib.Z_FINISH if final else zlib.Z_FULL_FLUSH)


def deflated(name: str, data: bytes) -> Part:
    """``data`` deflated as a zip member."""
    return Part(name, fresh_block(data), zlib.crc32(data), len(data))


def workbook_parts(sheet_xml: bytes | None = None) -> dict[str, Part]:
    """The parts of a real one-sheet workbook (sheet 'Orders') saved by openpyxl, optionally with other sheet XML."""
    workbook = openpyxl.Workbook()
    workbook.active.title = "Orders"
    saved = BytesIO()
    workbook.save(saved)
    with zipfile.ZipFile(saved) as archive:
        parts = {name: deflated(name, archive.read(name)) for name in archive.namelist()}
    if sheet_xml is not None:
        parts[SHEET] = deflated(SHEET, sheet_xml)
    return parts


def sheet_of_rows(values: Iterable[str | int]) -> bytes:
    """Sheet XML with the order_id header and one cell per row: a number for an int, else text."""
    cells = (f"<c><v>{value}</v></c>" if isinstance(value, int) else f'<c t="inlineStr"><is><t>{value}</t></is></c>'
             for value in values)
    return SHEET_HEAD + "".join(f"<row>{cell}</row>" for cell in cells).encode() + SHEET_FOOT


def write_zip(path: Path, parts: Iterable[Part], zip64: bool = False) -> Path:
    """Write ``parts`` as a zip archive by hand, so each part's packed bytes are stored exactly as given."""
    out, directory = BytesIO(), []
    for part in parts:
        name, offset = part.name.encode(), out.tell()
        sizes = (part.crc, len(part.packed), part.size, len(name))
        out.write(LOCAL_HEADER.pack(b"PK\x03\x04", 20, 0, 8, 0, 33, *sizes, 0) + name + part.packed)
        entry = CENTRAL_HEADER.pack(b"PK\x01\x02", 20, 20, 0, 8, 0, 33, *sizes, 0, 0, 0, 0, 0, offset)
        directory.append(entry + name)
    start, table = out.tell(), b"".join(directory)
    out.write(table)
    out.write(end_records(len(directory), len(table), start, zip64_at=out.tell() if zip64 else None))
    path.write_bytes(out.getvalue())
    return path


def end_records(count: int, size: int, start: int, zip64_at: int | None) -> bytes:
    """The end-of-archive record, preceded by zip64 records (and saturated itself) when ``zip64_at`` is given."""
    if zip64_at is None:
        return struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, size, start, 0)
    record = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, size, start)
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, zip64_at, 1)
    return record + locator + end_records(0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, None)


def bomb_sheet(unpacked_mb: int) -> Part:
    """The header row, then ``unpacked_mb`` MB of blank space: packed about 1,000 times smaller.

    One megabyte is deflated once as a block that starts afresh (full flush) and the block is repeated.
    The CRC is that of the real bytes, so zipfile inflates and verifies exactly the declared size.
    """
    filler = b" " * MB
    packed = fresh_block(SHEET_HEAD, final=False) + fresh_block(filler, final=False) * unpacked_mb
    crc = zlib.crc32(SHEET_HEAD)
    for _ in range(unpacked_mb):
        crc = zlib.crc32(filler, crc)
    size = len(SHEET_HEAD) + unpacked_mb * MB + len(SHEET_FOOT)
    return Part(SHEET, packed + fresh_block(SHEET_FOOT), zlib.crc32(SHEET_FOOT, crc), size)


@pytest.fixture(scope="session")
def bomb(tmp_path_factory) -> Path:
    """orders.xlsx: about 1 MB on disk, whose sheet really unpacks to 1 GB (built in about a second)."""
    parts = workbook_parts()
    parts[SHEET] = bomb_sheet(1024)
    return write_zip(tmp_path_factory.mktemp("bomb") / "orders.xlsx", parts.values())


# On Linux a new process's ru_maxrss starts at its parent's peak, so the child reports how far reading grew it.
READ_AND_REPORT_MEMORY_GROWTH = """
import json, resource, sys
from bastidor.connectors import ConnectorError, read_excel_rows
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    rows, error = len(list(read_excel_rows(sys.argv[1]))), None
except ConnectorError as exc:
    rows, error = None, str(exc)
growth_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps({"rows": rows, "error": error, "growth_kb": growth_kb}))
"""


def test_the_test_bomb_is_small_on_disk_and_really_unpacks_to_a_gigabyte(bomb: Path) -> None:
    unpacked = 0
    with zipfile.ZipFile(bomb) as archive, archive.open(SHEET) as sheet:  # zipfile checks the CRC at the end
        while chunk := sheet.read(16 * MB):
            unpacked += len(chunk)
    assert bomb.stat().st_size < 2 * MB
    assert unpacked > 1024 * MB


def test_a_zip_bomb_is_refused_unread_naming_its_size_the_limit_and_the_setting(bomb: Path) -> None:
    done = subprocess.run([sys.executable, "-c", READ_AND_REPORT_MEMORY_GROWTH, str(bomb)], cwd=REPO,
                          capture_output=True, text=True, timeout=300, check=True)
    outcome = json.loads(done.stdout)
    assert outcome["error"] == (
        f"{bomb}: the workbook would unpack to 1,025 MB, more than the limit of 256 MB, so it was not read "
        "(the file may be damaged, or built to exhaust the bot's memory); "
        "if it is genuine, set max_unpacked_mb: 1025 (at most 4096)"
    )
    assert outcome["growth_kb"] < 32 * 1024  # before the check, reading it took 2.1 GB


def test_checking_a_workbook_reads_its_table_of_contents_not_its_content(bomb: Path) -> None:
    tracemalloc.start()
    try:
        with open(bomb, "rb") as handle, pytest.raises(ConnectorError, match="would unpack to 1,025 MB"):
            check_unpacked_size(str(bomb), handle)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < bomb.stat().st_size / 4


def test_a_large_part_packed_like_a_bomb_is_refused_even_with_the_limit_raised(bomb: Path) -> None:
    with pytest.raises(ConnectorError) as caught:
        list(read_excel_rows(bomb, max_unpacked_mb=MAX_SETTABLE_UNPACKED_MB))
    assert str(caught.value).startswith(f"{bomb}: its part {SHEET} would unpack to 1,025 MB, ")
    assert "times its packed size, where real workbooks stay below 100 times, so it was not read" in str(caught.value)


def test_rows_are_not_added_to_a_workbook_that_would_unpack_too_far(bomb: Path, tmp_path: Path) -> None:
    target = tmp_path / "orders.xlsx"
    target.write_bytes(bomb.read_bytes())
    with pytest.raises(ConnectorError, match=r"would unpack to 1,025 MB, .*split it into smaller workbooks$"):
        write_excel_rows(target, [{"order_id": "A-1"}], mode="append")
    assert target.read_bytes() == bomb.read_bytes()


def test_a_genuine_workbook_over_max_unpacked_mb_is_read_once_the_setting_is_raised(tmp_path: Path) -> None:
    values = [f"ORD-{number:05d}-" + "x" * 240 for number in range(10_000)]
    path = write_zip(tmp_path / "orders.xlsx", workbook_parts(sheet_of_rows(values)).values())
    with pytest.raises(ConnectorError, match=r"would unpack to 3 MB, more than the limit of 1 MB, .*"
                                             r"set max_unpacked_mb: 3 \(at most 4096\)"):
        list(read_excel_rows(path, max_unpacked_mb=1))
    assert [row["order_id"] for row in read_excel_rows(path, max_unpacked_mb=3)] == values


def test_a_file_with_more_parts_than_any_workbook_is_refused(tmp_path: Path) -> None:
    parts = list(workbook_parts().values())
    parts += [deflated(f"xl/media/image{number}.png", b"") for number in range(MAX_PARTS + 1 - len(parts))]
    path = write_zip(tmp_path / "orders.xlsx", parts)
    with pytest.raises(ConnectorError, match=r"orders\.xlsx: it holds 10,001 parts, more than the 10,000 a "
                                             r"workbook ever needs, so it was not read"):
        list(read_excel_rows(path))


def test_a_table_of_contents_too_long_for_a_workbook_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    parts = [deflated(f"xl/media/{number:05d}" + "x" * 600, b"") for number in range(5_000)]
    path = write_zip(tmp_path / "orders.xlsx", parts)
    with pytest.raises(ConnectorError, match=r"its table of contents takes 3,\d{3},\d{3} bytes, more than a "
                                             r"workbook of 10,000 parts needs \(2,560,000\)"):
        list(read_excel_rows(path))


def test_a_workbook_written_with_zip64_records_is_read_normally(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "orders.xlsx", workbook_parts(sheet_of_rows(["A-1", "A-2"])).values(), zip64=True)
    assert [row["order_id"] for row in read_excel_rows(path)] == ["A-1", "A-2"]


def test_a_workbook_whose_zip64_record_is_missing_is_called_damaged(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "orders.xlsx", workbook_parts().values(), zip64=True)
    path.write_bytes(path.read_bytes().replace(b"PK\x06\x06", b"PK\x00\x00"))
    with pytest.raises(ConnectorError, match="the file is damaged or is not a valid .xlsx workbook"):
        list(read_excel_rows(path))


def test_a_sheet_with_nothing_from_the_header_row_down_says_so(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    workbook.active.title = "Orders"
    workbook.active.append(["Monthly orders"])
    workbook.save(tmp_path / "orders.xlsx")
    with pytest.raises(ConnectorError) as caught:
        list(read_excel_rows(tmp_path / "orders.xlsx", header_row=3))
    assert str(caught.value) == (
        f"{tmp_path / 'orders.xlsx'}: sheet 'Orders': the sheet is empty from row 3 (header_row) down: it has no "
        "column names and no data rows; check that the right file and sheet were given"
    )


def test_without_max_rows_a_sheet_stops_at_the_default_limit_and_says_how_to_raise_it(tmp_path: Path) -> None:
    values = range(DEFAULT_MAX_ROWS + 1)
    path = write_zip(tmp_path / "orders.xlsx", workbook_parts(sheet_of_rows(values)).values())
    with pytest.raises(ConnectorError) as caught:
        list(read_excel_rows(path))
    assert str(caught.value) == (
        f"{path}: sheet 'Orders' row 100002: the sheet has more than 100,000 data rows, the limit when max_rows "
        "is not set; if that many rows are expected, set max_rows: to the number of rows it holds, or split the file"
    )


def test_without_max_rows_a_csv_stops_at_the_default_limit_and_says_how_to_raise_it(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("order_id\n" + "".join(f"A-{number}\n" for number in range(DEFAULT_MAX_ROWS + 1)))
    with pytest.raises(ConnectorError, match=r"orders\.csv:100002: the file has more than 100,000 data rows, "
                                             r"the limit when max_rows is not set; .* set max_rows:"):
        list(read_csv_rows(path))
    assert len(list(read_csv_rows(path, max_rows=DEFAULT_MAX_ROWS + 1))) == DEFAULT_MAX_ROWS + 1


def test_step_settings_document_the_connectors_real_limits() -> None:
    excel, csv = ReadExcelParams.model_fields, ReadCsvParams.model_fields
    assert f"(default: {MAX_UNPACKED_MB})" in excel["max_unpacked_mb"].description
    assert all(f"(default: {DEFAULT_MAX_ROWS})" in fields["max_rows"].description for fields in (excel, csv))
    ReadExcelParams(path="o.xlsx", into="orders", max_unpacked_mb=MAX_SETTABLE_UNPACKED_MB)
    with pytest.raises(ValidationError, match="less than or equal to 4096"):
        ReadExcelParams(path="o.xlsx", into="orders", max_unpacked_mb=MAX_SETTABLE_UNPACKED_MB + 1)


def test_too_few_rows_names_the_count_and_the_setting() -> None:
    with pytest.raises(StepError) as caught:
        require_rows(1, 2, "orders.xlsx, sheet Orders")
    assert str(caught.value) == (
        "orders.xlsx, sheet Orders: 1 data row, but this step needs at least 2 (min_rows: 2); "
        "check that the right file was given, or lower min_rows if fewer rows are normal"
    )


# Whole flows: what an analyst sees in the run and in its audit log.

def header_only(folder: Path, kind: str) -> Path:
    """orders.xlsx (sheet Orders) or orders.csv holding the column names and no data rows."""
    if kind == "csv":
        path = folder / "orders.csv"
        path.write_text("order_id,qty\n", encoding="utf-8")
        return path
    workbook = openpyxl.Workbook()
    workbook.active.title = "Orders"
    workbook.active.append(["order_id", "qty"])
    workbook.save(folder / "orders.xlsx")
    return folder / "orders.xlsx"


def flow_file(folder: Path, read_step: str, *then: str) -> Path:
    """A flow that runs ``read_step`` and then the given steps (default: one log step)."""
    steps = "\n".join(f"  {line}" for line in (read_step, *(then or ("- log: read",))))
    path = folder / "read.yaml"
    path.write_text(f"name: Read orders\nsteps:\n{steps}\n", encoding="utf-8")
    return path


def read_record(run) -> dict:
    """The audit record of the run's read step."""
    records = [json.loads(line) for line in run.audit_text.splitlines()]
    return next(r for r in records if r["event"] == "step" and r["action"] in ("read_excel", "read_csv"))


READ_STEPS = {"xlsx": "- read_excel: {path: orders.xlsx, sheet: Orders, into: orders",
              "csv": "- read_csv: {path: orders.csv, into: orders"}
WHERE = {"xlsx": "orders.xlsx, sheet Orders", "csv": "orders.csv"}


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_header_only_file_with_min_rows_1_fails_the_run_saying_it_has_0_data_rows(tmp_path, run_flow_file, kind):
    header_only(tmp_path, kind)
    run = run_flow_file(flow_file(tmp_path, READ_STEPS[kind] + ", min_rows: 1}"))
    expected = (f"{tmp_path / WHERE[kind]}: 0 data rows, but this step needs at least 1 (min_rows: 1); "
                "check that the right file was given, or set min_rows: 0 if an empty file is normal")
    assert run.result.status == "failed" and run.result.error == expected
    assert (read_record(run)["outcome"], read_record(run)["error"]) == ("failed", expected)
    assert [step.status for step in run.steps()] == ["failed", "not_run"]


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_header_only_file_without_min_rows_succeeds_and_its_audit_record_says_rows_0(tmp_path, run_flow_file, kind):
    path = header_only(tmp_path, kind)
    run = run_flow_file(flow_file(tmp_path, READ_STEPS[kind] + "}"))
    assert run.result.status == "succeeded"
    assert read_record(run)["result"] == {"rows": 0, "file": str(path)}


def test_header_only_file_feeding_a_work_item_loop_fails_unless_it_says_min_rows_0(tmp_path, run_flow_file):
    header_only(tmp_path, "xlsx")
    loop = ('- for_each_item: "{{ orders }}"', '  item_ref: "{{ row.order_id }}"', "  steps: [{log: one}]")
    refused = run_flow_file(flow_file(tmp_path, READ_STEPS["xlsx"] + "}", *loop))
    assert refused.result.status == "failed"
    assert "0 data rows, but this step needs at least 1 (min_rows: 1)" in refused.result.error
    accepted = run_flow_file(flow_file(tmp_path, READ_STEPS["xlsx"] + ", min_rows: 0}", *loop))
    assert accepted.result.status == "succeeded" and read_record(accepted)["result"]["rows"] == 0


def test_empty_workbook_fails_the_run_saying_the_sheet_has_no_column_names_and_no_rows(tmp_path, run_flow_file):
    workbook = openpyxl.Workbook()
    workbook.active.title = "Orders"
    workbook.save(tmp_path / "orders.xlsx")
    run = run_flow_file(flow_file(tmp_path, READ_STEPS["xlsx"] + "}"))
    assert run.result.status == "failed"
    assert run.result.error == (f"{tmp_path / 'orders.xlsx'}: sheet 'Orders': the sheet is empty: it has no "
                                "column names and no data rows; check that the right file and sheet were given")


def test_empty_csv_fails_the_run_asking_for_a_header_line(tmp_path, run_flow_file):
    (tmp_path / "orders.csv").write_bytes(b"")
    run = run_flow_file(flow_file(tmp_path, READ_STEPS["csv"] + "}"))
    assert run.result.status == "failed"
    expected = f"{tmp_path / 'orders.csv'}: the file is empty; it needs a header line with the column names"
    assert run.result.error == expected
