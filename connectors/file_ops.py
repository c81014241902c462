"""Files inside declared folders for the file steps: confine a path, list, move and copy without overwriting.

`inside(root, written, folder)` is the one gate: a path written relative to a folder (or absolute) is resolved,
symlinks and `..` included, and refused unless it lands inside that folder. `move_file` is atomic within one
filesystem (a hard link then the old name removed, so an existing target is never replaced by accident) and a
copy, fsync and delete across filesystems; `copy_file` writes a temporary file beside the target, syncs it and
then gives it its name. With `overwrite=False` (the default of the steps) an existing target is an error, and
nothing is changed. Each operation returns the sizes and SHA-256 of what it moved or copied, for the audit.
"""

from __future__ import annotations

import datetime as dt
import errno
import fnmatch
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 20
MAX_LISTED = 10_000
"""The most files `list_files` returns; a folder holding more matches is refused with a hint to narrow it."""

FOLDER_RULES = ("file steps reach only inside the folders declared under `folders:` in the flow's header and "
                "the run folder (folder: run); `..` and symbolic links that lead out are refused")

_LINK_UNSUPPORTED = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOSYS, errno.EMLINK, errno.EACCES}


class FileOpsError(Exception):
    """A file operation refused or failed; `str()` is one line saying what and how to fix it."""


@dataclass(frozen=True)
class FileInfo:
    """One file found by `list_files`: its name, where it is, size in bytes and last change."""

    name: str
    path: Path
    relative: str
    size: int
    modified: dt.datetime


@dataclass(frozen=True)
class FileFacts:
    """What an operation did to one file: from where to where, its size and SHA-256."""

    source: Path
    target: Path
    size: int
    sha256: str

    def as_record(self) -> dict:
        """The facts as an audit record."""
        return {"from": str(self.source), "to": str(self.target), "size": self.size, "sha256": self.sha256}


def inside(root: Path, written: str, folder: str) -> Path:
    """`written` (relative to `root`, or absolute) resolved, or FileOpsError when it leads outside `root`."""
    if "\x00" in written:
        raise FileOpsError(f"the path {written!r} holds a NUL character")
    candidate = Path(written).expanduser()
    candidate = candidate if candidate.is_absolute() else root / candidate
    resolved = candidate.resolve(strict=False)
    if resolved != root and not resolved.is_relative_to(root):
        raise FileOpsError(f"the path '{written}' leads outside the folder '{folder}' ({root}): {FOLDER_RULES}")
    return resolved


def relative_name(root: Path, path: Path) -> str:
    """`path` as written relative to `root`, with / between parts."""
    return path.relative_to(root).as_posix()


def list_files(root: Path, pattern: str, recursive: bool) -> list[FileInfo]:
    """The files under `root` whose name matches `pattern` (a glob), newest first; links leading out skipped."""
    if not root.is_dir():
        raise FileOpsError(f"the folder {root} does not exist; create it, or correct `folders:` in the header")
    found: list[FileInfo] = []
    for path in _walk(root, recursive):
        if not fnmatch.fnmatchcase(path.name, pattern) and not fnmatch.fnmatchcase(relative_name(root, path),
                                                                                      pattern):
            continue
        real = path.resolve()
        if not real.is_relative_to(root) or not real.is_file():
            continue
        stat = real.stat()
        found.append(FileInfo(path.name, real, relative_name(root, path), stat.st_size,
                              dt.datetime.fromtimestamp(stat.st_mtime).replace(microsecond=0)))
        if len(found) > MAX_LISTED:
            raise FileOpsError(f"more than {MAX_LISTED:,} files match '{pattern}' in {root}; narrow the pattern "
                               f"or move finished files away")
    found.sort(key=lambda info: (info.modified, info.path.stat().st_mtime_ns, info.name), reverse=True)
    return found


def _walk(root: Path, recursive: bool):
    """The entries of `root` (all levels when `recursive`), never following links to folders."""
    if not recursive:
        yield from sorted(root.iterdir())
        return
    for folder, folders, files in os.walk(root, followlinks=False):
        folders.sort()
        for name in sorted(files):
            yield Path(folder) / name


def require_file(path: Path, shown: str) -> None:
    """Refuse a source that is missing or is not a plain file."""
    if not path.exists():
        raise FileOpsError(f"the file '{shown}' does not exist")
    if not path.is_file():
        raise FileOpsError(f"'{shown}' is a folder, not a file; the file steps move and copy single files")


def target_path(source: Path, target: Path, into_folder: bool) -> Path:
    """Where `source` lands: inside `target` when it is a folder (or written as one), else `target` itself."""
    return target / source.name if into_folder or target.is_dir() else target


def move_file(source: Path, target: Path, *, overwrite: bool = False) -> FileFacts:
    """Move `source` to `target` (a file path): atomic on one filesystem, copy+fsync+delete across them."""
    _check_target(source, target, overwrite)
    size, digest = file_digest(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        _rename(source, target, overwrite)
    except OSError as error:
        if error.errno != errno.EXDEV:
            raise FileOpsError(f"could not move {source} to {target}: {error.strerror}") from None
        copied = _copy_then_place(source, target, overwrite)
        if copied.sha256 != digest:
            raise FileOpsError(f"{source} changed while it was moved; the copy {target} was kept, the original too")
        source.unlink()
    return FileFacts(source, target, size, digest)


def copy_file(source: Path, target: Path, *, overwrite: bool = False) -> FileFacts:
    """Copy `source` to `target` (a file path) through a synced temporary file; never overwrites by default."""
    _check_target(source, target, overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    return _copy_then_place(source, target, overwrite)


def _check_target(source: Path, target: Path, overwrite: bool) -> None:
    """Refuse copying a file onto itself, onto a folder, or onto an existing file without overwrite."""
    if target == source:
        raise FileOpsError(f"{source} would be moved or copied onto itself; give another target")
    if target.is_dir():
        raise FileOpsError(f"{target} is a folder; name the file to write, or write the folder as the target")
    if target.exists() and not overwrite:
        raise FileOpsError(f"{target} already exists; choose another name, or set overwrite: true to replace it")


def _rename(source: Path, target: Path, overwrite: bool) -> None:
    """Rename within one filesystem; without overwrite a hard link first, so an existing target stays."""
    if overwrite:
        os.replace(source, target)
        return
    try:
        os.link(source, target, follow_symlinks=False)
    except FileExistsError:
        raise FileOpsError(f"{target} already exists; choose another name, or set overwrite: true to replace it") \
            from None
    except OSError as error:
        if error.errno not in _LINK_UNSUPPORTED:
            raise
        if target.exists():  # a filesystem without hard links: check, then rename
            raise FileOpsError(f"{target} already exists; choose another name, or set overwrite: true") from None
        os.replace(source, target)
        return
    source.unlink()


def _copy_then_place(source: Path, target: Path, overwrite: bool) -> FileFacts:
    """Copy into a temporary file beside `target`, fsync it, then give it its name; the hash is taken as read."""
    handle, temporary = tempfile.mkstemp(prefix=".bastidor-", suffix=".part", dir=target.parent)
    digest, size = hashlib.sha256(), 0
    try:
        with os.fdopen(handle, "wb") as out, source.open("rb") as data:
            while chunk := data.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        _place(Path(temporary), target, overwrite)
    finally:
        Path(temporary).unlink(missing_ok=True)
    fsync_folder(target.parent)
    return FileFacts(source, target, size, digest.hexdigest())


def place_new(temporary: Path, target: Path, *, overwrite: bool = False) -> None:
    """Give a finished temporary file its final name; without overwrite an existing `target` is an error."""
    _place(temporary, target, overwrite)
    Path(temporary).unlink(missing_ok=True)
    fsync_folder(target.parent)


def _place(temporary: Path, target: Path, overwrite: bool) -> None:
    if overwrite:
        os.replace(temporary, target)
        return
    try:
        os.link(temporary, target)
    except FileExistsError:
        raise FileOpsError(f"{target} already exists; choose another name, or set overwrite: true to replace it") \
            from None
    except OSError as error:
        if error.errno not in _LINK_UNSUPPORTED:
            raise
        if target.exists():
            raise FileOpsError(f"{target} already exists; choose another name, or set overwrite: true") from None
        os.replace(temporary, target)


def file_digest(path: Path) -> tuple[int, str]:
    """(size in bytes, SHA-256 hex) of the file at `path`."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as data:
        while chunk := data.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def fsync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable where the platform allows syncing a directory."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
