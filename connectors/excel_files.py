"""Open workbook files safely: plain-sentence errors for missing, old-format, oversized or damaged files."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import IO, Any

import openpyxl

from .errors import ConnectorError
from .unpack_limits import MAX_UNPACKED_MB, check_unpacked_size

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"
MACRO_SUFFIXES = (".xlsm", ".xltm")


@contextlib.contextmanager
def open_workbook_file(source: str) -> Iterator[IO[bytes]]:
    """Open a workbook file for reading bytes, turning OS errors into ConnectorErrors."""
    try:
        handle = open(source, "rb")
    except FileNotFoundError:
        raise ConnectorError(source, "file not found; check the path and the file name") from None
    except IsADirectoryError:
        raise ConnectorError(source, "this is a folder, not an Excel file") from None
    except OSError as exc:
        raise ConnectorError(source, f"the file cannot be opened: {exc.strerror or exc}") from None
    with handle:
        yield handle


def load_workbook_from(
    source: str,
    handle: IO[bytes],
    *,
    max_unpacked_mb: int = MAX_UNPACKED_MB,
    limit_setting: str | None = None,
    **options: Any,
) -> Any:
    """Load a workbook with openpyxl ``options`` after checking it is an .xlsx file of bounded size.

    A workbook that would unpack to more than ``max_unpacked_mb`` is refused before anything in it
    is inflated; ``limit_setting`` names the step setting that raises the limit, for the message.
    """
    _check_magic(source, handle)
    try:
        check_unpacked_size(source, handle, max_unpacked_mb, limit_setting)
        return openpyxl.load_workbook(handle, **options)
    except ConnectorError:
        raise
    except Exception as exc:
        raise damaged_workbook(source, exc) from exc


def _check_magic(source: str, handle: IO[bytes]) -> None:
    """Refuse old .xls workbooks and files that are not zip archives, by their first bytes."""
    magic = handle.read(4)
    handle.seek(0)
    if magic == _OLE_MAGIC:
        raise ConnectorError(
            source,
            "the file is an old-style .xls workbook or a password-protected one; "
            "open it in Excel and save it as .xlsx without a password",
        )
    if magic != _ZIP_MAGIC:
        raise ConnectorError(
            source,
            "the file is not an Excel .xlsx workbook; for a text file with separators use the CSV connector",
        )


def damaged_workbook(source: str, exc: BaseException) -> ConnectorError:
    """The error for a workbook openpyxl cannot make sense of."""
    return ConnectorError(
        source,
        f"the file is damaged or is not a valid .xlsx workbook ({type(exc).__name__}); "
        "open it in Excel and save it again as .xlsx",
    )
