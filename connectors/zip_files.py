"""Zip archives for the `zip` and `unzip` steps, with the decompression caps of Excel workbooks.

`unzip_archive` checks the table of contents before anything is inflated (the entry count, the total unpacked
size and the packing ratio of large entries, as `unpack_limits` does for .xlsx files), refuses entry names
that would land outside the target folder (absolute names, `..`, drive letters: "zip slip") and symbolic link
entries, and refuses to overwrite files already there. Entries are inflated into a hidden staging folder first
and only then given their names, so a damaged archive leaves nothing half-written behind.
`make_zip` writes the archive to a temporary file that gets its name only when complete.
"""

from __future__ import annotations

import math
import os
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from . import unpack_limits
from .file_ops import FileOpsError, fsync_folder, place_new
from .unpack_limits import MAX_PARTS, MAX_RATIO, MB, RATIO_CHECKED_FROM_BYTES

_NOT_READ = "so it was not unpacked (the archive may be damaged, or built to exhaust the bot's disk or memory)"


def make_zip(entries: list[tuple[Path, str]], target: Path, *, overwrite: bool = False) -> int:
    """Write `entries` (file, name inside the archive) to the zip file `target`; returns its size in bytes."""
    names = [name for _, name in entries]
    doubled = sorted({name for name in names if names.count(name) > 1})
    if doubled:
        raise FileOpsError(f"two files would be stored as '{doubled[0]}' in the archive; zip them separately")
    if target.exists() and not overwrite:
        raise FileOpsError(f"{target} already exists; choose another name, or set overwrite: true to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".bastidor-", suffix=".zip.part", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for path, name in entries:
                    archive.write(path, name)
            out.flush()
            os.fsync(out.fileno())
        place_new(Path(temporary), target, overwrite=overwrite)
    finally:
        Path(temporary).unlink(missing_ok=True)
    return target.stat().st_size


def unzip_archive(archive_path: Path, folder: Path, *, max_unpacked_mb: int, overwrite: bool = False) \
        -> list[tuple[Path, int]]:
    """Unpack `archive_path` into `folder`; returns each file written with its size."""
    shown = archive_path.name
    with archive_path.open("rb") as handle:
        try:
            _check_directory(shown, handle)
            with zipfile.ZipFile(handle) as archive:
                members = [m for m in archive.infolist() if not m.is_dir()]
                _check_members(shown, members, max_unpacked_mb)
                targets = [(member, _safe_target(shown, folder, member)) for member in members]
                _refuse_existing(targets, overwrite)
                folder.mkdir(parents=True, exist_ok=True)
                staging = Path(tempfile.mkdtemp(prefix=".bastidor-unzip-", dir=folder))
                try:
                    _inflate(shown, archive, targets, folder, staging)
                    return _publish(targets, folder, staging, overwrite)
                finally:
                    shutil.rmtree(staging, ignore_errors=True)
        except zipfile.BadZipFile as error:
            raise FileOpsError(f"{shown} is not a readable zip archive ({error}); ask for a new copy") from None


def _check_directory(shown: str, handle) -> None:
    """Refuse a table of contents longer than MAX_PARTS entries before zipfile reads it into memory."""
    count, size = unpack_limits._directory_extent(handle)  # shared with the .xlsx checks
    handle.seek(0)
    if count > MAX_PARTS or size > unpack_limits.MAX_DIRECTORY_BYTES:
        raise FileOpsError(f"{shown} lists {count:,} entries ({size:,} bytes of table of contents), more than the "
                           f"{MAX_PARTS:,} allowed, {_NOT_READ}")


def _check_members(shown: str, members: list[zipfile.ZipInfo], max_unpacked_mb: int) -> None:
    """Refuse too many entries, too much in total, or one large entry packed like a bomb."""
    if len(members) > MAX_PARTS:
        raise FileOpsError(f"{shown} holds {len(members):,} files, more than the {MAX_PARTS:,} allowed, {_NOT_READ}")
    total = sum(member.file_size for member in members)
    if total > max_unpacked_mb * MB:
        raise FileOpsError(f"{shown} would unpack to {math.ceil(total / MB):,} MB, more than the limit of "
                           f"{max_unpacked_mb:,} MB, {_NOT_READ}; if it is genuine, set max_unpacked_mb: "
                           f"{math.ceil(total / MB)} (at most {unpack_limits.MAX_SETTABLE_UNPACKED_MB})")
    for member in members:
        if member.file_size > RATIO_CHECKED_FROM_BYTES and member.file_size > MAX_RATIO * member.compress_size:
            raise FileOpsError(f"{shown}: {member.filename} would unpack to {member.file_size // MB:,} MB, "
                               f"{member.file_size // max(member.compress_size, 1):,} times its packed size "
                               f"(more than {MAX_RATIO} times), {_NOT_READ}")
        if stat.S_ISLNK(member.external_attr >> 16):
            raise FileOpsError(f"{shown}: {member.filename} is a symbolic link; archives with links are refused")


def _safe_target(shown: str, folder: Path, member: zipfile.ZipInfo) -> Path:
    """Where `member` lands in `folder`, or FileOpsError for a name that would land outside it (zip slip)."""
    name = member.filename.replace("\\", "/")
    parts = PurePosixPath(name).parts
    if (not parts or name.startswith("/") or ".." in parts or ":" in parts[0] or "\x00" in name):
        raise FileOpsError(f"{shown}: the entry '{member.filename}' would land outside the target folder; "
                           f"the archive was not unpacked")
    target = folder.joinpath(*parts)
    resolved = target.parent.resolve(strict=False) / target.name
    if not resolved.is_relative_to(folder):
        raise FileOpsError(f"{shown}: the entry '{member.filename}' would land outside the target folder through "
                           f"a symbolic link; the archive was not unpacked")
    return resolved


def _refuse_existing(targets: list[tuple[zipfile.ZipInfo, Path]], overwrite: bool) -> None:
    """Refuse before inflating anything when a file the archive holds is already in the folder."""
    if overwrite:
        return
    existing = [str(path) for _, path in targets if path.exists()]
    if existing:
        more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
        raise FileOpsError(f"{existing[0]}{more} already exist; unzip into another folder, or set overwrite: true")


def _inflate(shown: str, archive: zipfile.ZipFile, targets: list, folder: Path, staging: Path) -> None:
    """Inflate every entry into `staging`, at its place relative to `folder`."""
    for member, target in targets:
        staged = staging / target.relative_to(folder)
        staged.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(member) as data, staged.open("wb") as out:
            shutil.copyfileobj(data, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())


def _publish(targets: list, folder: Path, staging: Path, overwrite: bool) -> list[tuple[Path, int]]:
    """Give each staged file its name in `folder`; on a failure the files already given names are removed."""
    written: list[tuple[Path, int]] = []
    try:
        for _, target in targets:
            target.parent.mkdir(parents=True, exist_ok=True)
            place_new(staging / target.relative_to(folder), target, overwrite=overwrite)
            written.append((target, target.stat().st_size))
    except BaseException:
        if not overwrite:
            for path, _ in written:
                path.unlink(missing_ok=True)
        raise
    fsync_folder(folder)
    return written
