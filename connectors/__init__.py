"""Data connectors: Excel and CSV readers and writers."""

from .atomic import atomic_write
from .csv_file import read_csv_rows
from .csv_writer import write_csv_rows
from .errors import ConnectorError
from .excel import read_excel_rows
from .excel_writer import write_excel_rows
from .rows import SourceRow

__all__ = [
    "ConnectorError",
    "SourceRow",
    "atomic_write",
    "read_csv_rows",
    "read_excel_rows",
    "write_csv_rows",
    "write_excel_rows",
]
