"""Write a file all at once or not at all: a temporary file beside it, fsync, then os.replace."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from typing import IO, Any


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike[str],
    mode: str = "wb",
    *,
    encoding: str | None = None,
    newline: str | None = None,
) -> Iterator[IO[Any]]:
    """Yield a file object for a temporary file in ``path``'s folder; publish it only on success.

    When the ``with`` block ends normally the data is flushed and fsynced, the file gets the
    permissions of the file it replaces (or the usual ones for a new file), and ``os.replace``
    swaps it in, so readers see either the whole old file or the whole new one. If the block
    raises, the temporary file is removed, the original is untouched and the error propagates.
    A symlink is written through: its target is replaced, the link stays.

    ``mode`` is ``"wb"`` (bytes) or ``"w"`` (text, with ``encoding`` and ``newline``).
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write mode must be 'wb' or 'w', not {mode!r}")
    target = os.path.realpath(os.fspath(path))
    folder, name = os.path.split(target)
    fd, temp_path = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, mode, encoding=encoding, newline=newline) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_path, _mode_for(target))
        os.replace(temp_path, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_path)
        raise
    _fsync_folder(folder)


def _mode_for(target: str) -> int:
    """Permissions for the new file: those of the file being replaced, else 0o666 minus umask."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        return 0o666 & ~_current_umask()


def _current_umask() -> int:
    """The process umask, read without changing it where Linux allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_folder(folder: str) -> None:
    """Make the rename itself durable where the platform allows syncing a directory."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
