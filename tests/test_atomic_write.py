"""atomic_write: a file is replaced whole or not at all, with no temporary files left behind."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from bastidor.connectors import atomic_write


def names_in(folder: Path) -> list[str]:
    """Every entry in ``folder``, hidden ones included, sorted."""
    return sorted(os.listdir(folder))


def test_successful_write_replaces_the_file_and_keeps_its_permissions(tmp_path: Path) -> None:
    path = tmp_path / "report.txt"
    path.write_bytes(b"old")
    path.chmod(0o640)
    with atomic_write(path) as handle:
        handle.write(b"new content")
    assert path.read_bytes() == b"new content"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert names_in(tmp_path) == ["report.txt"]


def test_new_file_gets_ordinary_permissions_not_private_temp_ones(tmp_path: Path) -> None:
    path = tmp_path / "fresh.txt"
    umask = os.umask(0o022)
    try:
        with atomic_write(path, "w", encoding="utf-8") as handle:
            handle.write("olá\n")
    finally:
        os.umask(umask)
    assert path.read_text(encoding="utf-8") == "olá\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_nothing_is_visible_at_the_target_until_the_block_ends(tmp_path: Path) -> None:
    path = tmp_path / "report.txt"
    path.write_bytes(b"old")
    with atomic_write(path) as handle:
        handle.write(b"new")
        handle.flush()
        assert path.read_bytes() == b"old"
        temp_name = next(name for name in names_in(tmp_path) if name != "report.txt")
        assert temp_name.startswith(".report.txt.") and temp_name.endswith(".tmp")
    assert path.read_bytes() == b"new"


def test_error_in_the_block_keeps_the_original_and_removes_the_temp(tmp_path: Path) -> None:
    path = tmp_path / "report.txt"
    path.write_bytes(b"original")
    with pytest.raises(ZeroDivisionError):
        with atomic_write(path) as handle:
            handle.write(b"half")
            1 / 0
    assert path.read_bytes() == b"original"
    assert names_in(tmp_path) == ["report.txt"]


def test_failed_replace_keeps_the_original_and_removes_the_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "report.txt"
    path.write_bytes(b"original")

    def refuse(*_args: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError):
        with atomic_write(path) as handle:
            handle.write(b"new")
    assert path.read_bytes() == b"original"
    assert names_in(tmp_path) == ["report.txt"]


def test_symlink_is_written_through_to_its_target(tmp_path: Path) -> None:
    target = tmp_path / "real.txt"
    target.write_bytes(b"old")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    with atomic_write(link) as handle:
        handle.write(b"new")
    assert link.is_symlink() and target.read_bytes() == b"new"


def test_unknown_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mode must be 'wb' or 'w'"):
        with atomic_write(tmp_path / "x", "ab"):
            pass
