"""How much a workbook may unpack to, checked from its zip table of contents before anything is inflated.

An .xlsx file is a zip archive. Python's zipfile never inflates a part past the size the table of
contents declares for it, so the declared sizes bound all the work openpyxl can be made to do.
Checking them first refuses a zip bomb in milliseconds and constant memory: only the end record
(at most 64 KB) and a table of contents capped at MAX_DIRECTORY_BYTES are ever read.
"""

from __future__ import annotations

import math
import struct
import zipfile
from typing import IO

from .errors import ConnectorError

MB = 1 << 20
# 100,000 rows (the default row cap) by 30 columns unpack to about 150 MB of sheet XML (measured:
# 100,000 rows by 5 columns from openpyxl is 24.5 MB). 256 MB leaves room for that and for shared
# strings and styles, and stops a bomb while it is still a few kilobytes of table of contents.
MAX_UNPACKED_MB = 256
MAX_SETTABLE_UNPACKED_MB = 4096
# A workbook has a handful of parts per sheet (sheet, relations, drawing, comments); 10,000 is far past
# any real one, and each table-of-contents entry of an honest workbook is well under 256 bytes.
MAX_PARTS = 10_000
MAX_DIRECTORY_BYTES = MAX_PARTS * 256
# Sheet XML deflates about 10 to 15 times (measured on numbers, repeated text and formatting only);
# a bomb reaches 1,000. The ratio is only judged on parts big enough to matter.
MAX_RATIO = 100
RATIO_CHECKED_FROM_BYTES = 8 * MB

_END_RECORD = struct.Struct("<4s4H2LH")
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_END_RECORD = struct.Struct("<4sQ2H2L4Q")
_NOT_READ = "so it was not read (the file may be damaged, or built to exhaust the bot's memory)"
_ASK_AGAIN = "open it in Excel and save it again, or ask for a new copy"


def check_unpacked_size(
    source: str, handle: IO[bytes], max_unpacked_mb: int = MAX_UNPACKED_MB, setting: str | None = None
) -> None:
    """Raise a ConnectorError when the workbook in ``handle`` would unpack to too much.

    Refuses more than MAX_PARTS parts, more than ``max_unpacked_mb`` declared in total, and a large
    part that unpacks more than MAX_RATIO times its packed size. ``setting`` names the step setting
    that raises ``max_unpacked_mb``, for the message. Nothing is inflated; ``handle`` is rewound.
    A file that is not a readable zip archive raises zipfile.BadZipFile.
    """
    try:
        _check_directory(source, handle)
        with zipfile.ZipFile(handle) as archive:
            parts = archive.infolist()
    finally:
        handle.seek(0)
    _check_parts(source, parts, max_unpacked_mb, setting)


def _check_directory(source: str, handle: IO[bytes]) -> None:
    """Refuse a table of contents too long for zipfile to read in bounded memory."""
    count, size = _directory_extent(handle)
    if count > MAX_PARTS:
        raise ConnectorError(source, _too_many_parts(count))
    if size > MAX_DIRECTORY_BYTES:
        raise ConnectorError(
            source,
            f"its table of contents takes {size:,} bytes, more than a workbook of {MAX_PARTS:,} parts "
            f"needs ({MAX_DIRECTORY_BYTES:,}), {_NOT_READ}; {_ASK_AGAIN}",
        )


def _directory_extent(handle: IO[bytes]) -> tuple[int, int]:
    """(parts listed, table-of-contents bytes) as the zip's end record declares them."""
    end = handle.seek(0, 2)
    start = max(0, end - _END_RECORD.size - 0xFFFF)
    handle.seek(start)
    tail = handle.read()
    found = tail.rfind(b"PK\x05\x06")
    if found < 0 or len(tail) - found < _END_RECORD.size:
        raise zipfile.BadZipFile("no end of archive record")
    fields = _END_RECORD.unpack_from(tail, found)
    count, size, offset = fields[4], fields[5], fields[6]
    if count == 0xFFFF or 0xFFFFFFFF in (size, offset):
        return _zip64_extent(handle, start + found)
    return count, size


def _zip64_extent(handle: IO[bytes], end_record_at: int) -> tuple[int, int]:
    """(parts listed, table-of-contents bytes) as the zip64 end record declares them."""
    if end_record_at < _ZIP64_LOCATOR.size:
        raise zipfile.BadZipFile("no zip64 end record locator")
    handle.seek(end_record_at - _ZIP64_LOCATOR.size)
    signature, _, record_at, _ = _ZIP64_LOCATOR.unpack(handle.read(_ZIP64_LOCATOR.size))
    handle.seek(record_at)
    record = handle.read(_ZIP64_END_RECORD.size)
    if signature != b"PK\x06\x07" or len(record) < _ZIP64_END_RECORD.size or record[:4] != b"PK\x06\x06":
        raise zipfile.BadZipFile("no zip64 end record")
    fields = _ZIP64_END_RECORD.unpack(record)
    return fields[7], fields[8]


def _check_parts(
    source: str, parts: list[zipfile.ZipInfo], max_unpacked_mb: int, setting: str | None
) -> None:
    """Refuse too many parts, too much in total, or one large part packed like a bomb."""
    if len(parts) > MAX_PARTS:
        raise ConnectorError(source, _too_many_parts(len(parts)))
    total = sum(part.file_size for part in parts)
    if total > max_unpacked_mb * MB:
        raise ConnectorError(source, _too_big(total, max_unpacked_mb, setting))
    for part in parts:
        if part.file_size > RATIO_CHECKED_FROM_BYTES and part.file_size > MAX_RATIO * part.compress_size:
            raise ConnectorError(source, _packed_like_a_bomb(part))


def _too_many_parts(count: int) -> str:
    """Say the archive holds more parts than any workbook."""
    return (
        f"it holds {count:,} parts, more than the {MAX_PARTS:,} a workbook ever needs, {_NOT_READ}; "
        + _ASK_AGAIN
    )


def _too_big(total: int, max_unpacked_mb: int, setting: str | None) -> str:
    """Say how far the workbook would unpack, the limit, and the setting that raises it."""
    needed = math.ceil(total / MB)
    if setting is None or needed > MAX_SETTABLE_UNPACKED_MB:
        remedy = "if it is genuine, split it into smaller workbooks"
    else:
        remedy = f"if it is genuine, set {setting}: {needed} (at most {MAX_SETTABLE_UNPACKED_MB})"
    return (
        f"the workbook would unpack to {needed:,} MB, more than the limit of {max_unpacked_mb:,} MB, "
        f"{_NOT_READ}; {remedy}"
    )


def _packed_like_a_bomb(part: zipfile.ZipInfo) -> str:
    """Say which part unpacks far more than real workbook parts do."""
    ratio = part.file_size // max(part.compress_size, 1)
    return (
        f"its part {part.filename} would unpack to {math.ceil(part.file_size / MB):,} MB, {ratio:,} times "
        f"its packed size, where real workbooks stay below {MAX_RATIO} times, {_NOT_READ}; {_ASK_AGAIN}"
    )
