"""The file end of the audit log: appends each record as one whole line, or leaves the file as it was."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

from bastidor.audit.errors import AuditWriteError


class AuditFileSink:
    """The structlog "logger" at the end of the chain: appends one line per record, whole or not at all."""

    def __init__(self, path: Path, stream: IO[bytes]) -> None:
        self.path = path
        self.stream = stream

    def audit(self, line: str) -> str:
        """Write `line` and a newline to the operating system and return the line. If the write fails
        part-way, cut the file back to where it was (when it can) and raise."""
        data = memoryview(line.encode("utf-8") + b"\n")
        start = _size_of(self.stream)
        try:
            while data:
                written = self.stream.write(data)
                data = data[written if written is not None else len(data):]
            self.stream.flush()
        except Exception:
            _cut_back(self.stream, start)
            raise
        return line


def open_for_append(path: Path) -> IO[bytes]:
    """Open `path` for appending, unbuffered (its folder made when missing); raise `AuditWriteError`."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return open(path, "ab", buffering=0)  # unbuffered: a failed write leaves nothing behind to retry
    except OSError as error:
        raise AuditWriteError(
            f"Cannot open the audit log {path} for writing: {error.strerror or error} (errno {error.errno}). "
            "Check that the folder exists, is a folder, and is writable."
        ) from error


def end_torn_line(stream: IO[bytes]) -> None:
    """End a last line that a crash left without its newline, so the next record starts on its own line."""
    stream.write(b"\n")
    stream.flush()


def _size_of(stream: IO[bytes]) -> int | None:
    try:
        return os.fstat(stream.fileno()).st_size
    except (OSError, ValueError):
        return None


def _cut_back(stream: IO[bytes], size: int | None) -> None:
    """Remove whatever part of a record a failed write left after `size` bytes (regular files only)."""
    if size is None:
        return
    try:
        if os.fstat(stream.fileno()).st_size > size:
            os.ftruncate(stream.fileno(), size)
    except (OSError, ValueError):
        pass


