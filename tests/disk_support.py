"""Real storage faults for tests: a small tmpfs mounted in the test (a disk that fills up) and the immutable
flag (a file nobody, not even root, may write). Each is skipped, with the reason, where the machine does not
allow it (mounting needs root and CAP_SYS_ADMIN; chattr needs a file system that keeps the flag)."""

from __future__ import annotations

import subprocess
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest


@pytest.fixture
def small_disk(tmp_path) -> Iterator[Path]:
    """A 32 MB tmpfs mounted at tmp_path/disk for the test, unmounted after it."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(mount)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here to fill a disk for real ({done.stderr.strip() or 'not root'})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


@contextmanager
def disk_filled(mount: Path) -> Iterator[Path]:
    """Fill the file system at `mount` to the last byte for the length of the block, then free it."""
    filler = mount / "filler.bin"
    with open(filler, "wb", buffering=0) as handle:
        for size in (1 << 20, 1 << 10, 1):  # a megabyte at a time, then the last kilobytes, then bytes
            _write_until_full(handle, b"\0" * size)
    try:
        yield filler
    finally:
        filler.unlink(missing_ok=True)


def _write_until_full(handle, chunk: bytes) -> None:
    try:
        while True:
            handle.write(chunk)
    except OSError:
        return


@contextmanager
def immutable(*paths: Path) -> Iterator[None]:
    """Make files unwritable for every user (chattr +i) for the length of the block."""
    done = subprocess.run(["chattr", "+i", *map(str, paths)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot make a file immutable here ({done.stderr.strip() or 'chattr failed'})")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", *map(str, paths)], capture_output=True)
