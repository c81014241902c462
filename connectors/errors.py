"""The one error type connectors raise for problems a user can fix in their file or settings."""

from __future__ import annotations

import os


class ConnectorError(Exception):
    """A user-facing problem with a data file, named by file and, when known, sheet, cell or line.

    ``str(error)`` reads like ``orders.csv:12: row has 6 values but the header has 5 columns``
    or ``orders.xlsx: sheet 'Orders' cell C1: duplicate column name 'Qty'``.

    Attributes:
        path: the file as the caller named it.
        line: the 1-based line (CSV) or row (Excel) the problem is on, or None.
        sheet: the worksheet name, or None.
        cell: the cell coordinate such as ``"C1"``, or None.
        message: what is wrong and how to fix it, without the location.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        message: str,
        *,
        line: int | None = None,
        sheet: str | None = None,
        cell: str | None = None,
    ) -> None:
        self.path = os.fspath(path)
        self.message = message
        self.line = line
        self.sheet = sheet
        self.cell = cell
        super().__init__(self._render())

    def _render(self) -> str:
        """Build the full sentence: file, optional line or sheet/cell, then the message."""
        if self.sheet is None:
            where = self.path if self.line is None else f"{self.path}:{self.line}"
            return f"{where}: {self.message}"
        place = f"sheet '{self.sheet}'"
        if self.cell is not None:
            place += f" cell {self.cell}"
        elif self.line is not None:
            place += f" row {self.line}"
        return f"{self.path}: {place}: {self.message}"

    def __reduce__(self):  # keep the error picklable across worker processes
        return (_rebuild, (self.path, self.message, self.line, self.sheet, self.cell))


def _rebuild(path: str, message: str, line: int | None, sheet: str | None, cell: str | None):
    """Recreate a ConnectorError from its parts (used by pickle)."""
    return ConnectorError(path, message, line=line, sheet=sheet, cell=cell)
