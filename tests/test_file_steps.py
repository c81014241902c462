"""The file steps (`list_files`, `move_file`, `copy_file`, `zip`, `unzip`) in real flow runs on real folders.

Every flow declares `incoming` and `archive` folders beside it; the tests check what lands where, that nothing
is overwritten or lost, that paths and symbolic links leading out of the folders are refused, and that archive
bombs and zip-slip names are refused before anything is unpacked.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HEADER = """name: Files
folders:
  incoming: ./incoming
  archive: ./archive
steps:
"""


@pytest.fixture
def folders(tmp_path) -> tuple[Path, Path]:
    """The flow's `incoming` (with two workbooks and a note, the newest last) and an empty `archive`."""
    incoming, archive = tmp_path / "incoming", tmp_path / "archive"
    incoming.mkdir()
    archive.mkdir()
    for age, name in enumerate(["notes.txt", "old.xlsx", "new.xlsx"]):
        path = incoming / name
        path.write_bytes(f"content of {name}".encode())
        os.utime(path, (1_700_000_000 + age * 60, 1_700_000_000 + age * 60))
    return incoming, archive


def _flow(tmp_path: Path, steps: str) -> Path:
    path = tmp_path / "flow.yaml"
    path.write_text(HEADER + steps, encoding="utf-8")
    return path


def _results(run, action: str) -> list[dict]:
    records = [json.loads(line) for line in run.audit_text.splitlines()]
    return [r["result"] for r in records if r.get("event") == "step" and r.get("action") == action
            and "result" in r]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_list_files_gives_matching_files_newest_first(folders, run_flow_file, tmp_path):
    flow = _flow(tmp_path, """
  - list_files: {folder: incoming, pattern: "*.xlsx", into: files}
  - assert: "{{ len(files) == 2 and files[0].name == 'new.xlsx' and files[1].name == 'old.xlsx' }}"
  - assert: "{{ files[0].size == 19 and files[0].folder == 'incoming' and files[0].relative == 'new.xlsx' }}"
""")
    run = run_flow_file(flow)
    assert run.result.status == "succeeded", run.result.error
    assert _results(run, "list_files")[0]["files"] == ["new.xlsx", "old.xlsx"]


def test_each_listed_file_is_moved_to_the_archive_with_its_hash_audited(folders, run_flow_file, tmp_path):
    incoming, archive = folders
    flow = _flow(tmp_path, """
  - list_files: {folder: incoming, pattern: "*.xlsx", into: files}
  - for_each: "{{ files }}"
    as: file
    steps:
      - move_file: {from: "{{ file }}", to: {folder: archive, path: "2026/"}}
""")
    run = run_flow_file(flow)
    assert run.result.status == "succeeded", run.result.error
    assert sorted(p.name for p in (archive / "2026").iterdir()) == ["new.xlsx", "old.xlsx"]
    assert [p.name for p in incoming.iterdir()] == ["notes.txt"]
    moved = _results(run, "move_file")
    assert moved[0]["action"] == "moved" and moved[0]["to"] == str(archive.resolve() / "2026" / "new.xlsx")
    assert moved[0]["sha256"] == _sha(b"content of new.xlsx") and moved[0]["size"] == 19


def test_copy_keeps_the_original_and_never_overwrites_without_being_told(folders, run_flow_file, tmp_path):
    incoming, archive = folders
    (archive / "old.xlsx").write_bytes(b"already archived")
    flow = _flow(tmp_path, """
  - copy_file: {from: {folder: incoming, path: new.xlsx}, to: {folder: archive}, into: copied}
  - assert: "{{ copied.relative == 'new.xlsx' and copied.sha256 == sha }}"
  - copy_file: {from: {folder: incoming, path: old.xlsx}, to: {folder: archive}}
""".replace("sha }}", f"'{_sha(b'content of new.xlsx')}' }}}}"))
    run = run_flow_file(flow)
    assert run.result.status == "failed"
    assert run.result.error == (f"copy_file: {archive.resolve() / 'old.xlsx'} already exists; choose another name, "
                                f"or set overwrite: true to replace it")
    assert (archive / "old.xlsx").read_bytes() == b"already archived"
    assert (incoming / "new.xlsx").read_bytes() == (archive / "new.xlsx").read_bytes()
    assert not [p for p in archive.iterdir() if p.name.startswith(".bastidor-")]


def test_move_with_overwrite_replaces_the_target(folders, run_flow_file, tmp_path):
    incoming, archive = folders
    (archive / "report.xlsx").write_bytes(b"last week")
    flow = _flow(tmp_path, """
  - move_file: {from: {folder: incoming, path: new.xlsx}, to: {folder: archive, path: report.xlsx}, overwrite: true}
""")
    run = run_flow_file(flow)
    assert run.result.status == "succeeded", run.result.error
    assert (archive / "report.xlsx").read_bytes() == b"content of new.xlsx" and not (incoming / "new.xlsx").exists()


def test_a_move_across_filesystems_copies_syncs_then_deletes(folders, run_flow_file, tmp_path, small_disk):
    incoming, _ = folders
    flow = tmp_path / "flow.yaml"
    flow.write_text(f"name: Files\nfolders:\n  incoming: ./incoming\n  other: {small_disk}\nsteps:\n"
                    f"  - move_file: {{from: {{folder: incoming, path: old.xlsx}}, to: {{folder: other}}}}\n")
    run = run_flow_file(flow)
    assert run.result.status == "succeeded", run.result.error
    assert (Path(small_disk) / "old.xlsx").read_bytes() == b"content of old.xlsx"
    assert not (incoming / "old.xlsx").exists()
    assert _results(run, "move_file")[0]["sha256"] == _sha(b"content of old.xlsx")


@pytest.mark.parametrize("written", ["../flow.yaml", "/etc/hostname", "sub/../../flow.yaml"])
def test_paths_leading_out_of_the_folder_are_refused(folders, run_flow_file, tmp_path, written):
    flow = _flow(tmp_path, f"""
  - copy_file: {{from: {{folder: incoming, path: "{written}"}}, to: {{folder: archive}}}}
""")
    run = run_flow_file(flow)
    assert run.result.status == "failed"
    assert run.result.error.startswith(f"'from': the path '{written}' leads outside the folder 'incoming' (")
    assert run.result.error.endswith("file steps reach only inside the folders declared under `folders:` in the "
                                     "flow's header and the run folder (folder: run); `..` and symbolic links "
                                     "that lead out are refused")
    assert list((tmp_path / "archive").iterdir()) == []


def test_a_symbolic_link_pointing_out_is_refused_and_not_listed(folders, run_flow_file, tmp_path):
    incoming, archive = folders
    secret = tmp_path / "outside.xlsx"
    secret.write_bytes(b"not yours")
    (incoming / "sneaky.xlsx").symlink_to(secret)
    (archive / "escape").symlink_to(tmp_path)
    flow = _flow(tmp_path, """
  - list_files: {folder: incoming, pattern: "*.xlsx", into: files}
  - assert: "{{ len(files) == 2 }}"
  - copy_file: {from: {folder: incoming, path: new.xlsx}, to: {folder: archive, path: escape/new.xlsx}}
""")
    run = run_flow_file(flow)
    assert run.result.status == "failed"
    assert "'to': the path 'escape/new.xlsx' leads outside the folder 'archive'" in run.result.error
    assert not (tmp_path / "new.xlsx").exists()


def test_the_run_folder_is_reachable_as_run(folders, run_flow_file, tmp_path):
    flow = _flow(tmp_path, """
  - copy_file: {from: {folder: incoming, path: notes.txt}, to: {folder: run, path: in/notes.txt}, into: copy}
  - list_files: {folder: run, pattern: "*.txt", recursive: true, into: found}
  - assert: "{{ len(found) == 1 and found[0].relative == 'in/notes.txt' }}"
""")
    run = run_flow_file(flow)
    assert run.result.status == "succeeded", run.result.error


def test_zip_then_unzip_gives_the_same_files(folders, run_flow_file, tmp_path):
    incoming, archive = folders
    flow = _flow(tmp_path, """
  - zip: {folder: incoming, pattern: "*.xlsx", to: {folder: archive, path: batch.zip}}
  - unzip: {file: {folder: archive, path: batch.zip}, to: {folder: archive, path: unpacked}, into: files}
  - assert: "{{ len(files) == 2 and files[0].folder == 'archive' }}"
""")
    run = run_flow_file(flow)
    assert run.result.status == "succeeded", run.result.error
    for name in ("old.xlsx", "new.xlsx"):
        assert (archive / "unpacked" / name).read_bytes() == (incoming / name).read_bytes()
    zipped = _results(run, "zip")[0]
    assert zipped["count"] == 2 and zipped["sha256"] == _sha((archive / "batch.zip").read_bytes())
    assert {f["name"]: f["sha256"] for f in zipped["files"]}["new.xlsx"] == _sha(b"content of new.xlsx")
    assert _results(run, "unzip")[0]["files"] == [{"path": "unpacked/old.xlsx", "size": 19},
                                                 {"path": "unpacked/new.xlsx", "size": 19}]


def test_zip_of_listed_files_and_no_overwrite(folders, run_flow_file, tmp_path):
    _, archive = folders
    (archive / "taken.zip").write_bytes(b"keep me")
    flow = _flow(tmp_path, """
  - list_files: {folder: incoming, into: files}
  - zip: {files: ["{{ files[0] }}", {folder: incoming, path: notes.txt}], to: {folder: archive, path: two.zip}}
  - zip: {files: ["{{ files[0] }}"], to: {folder: archive, path: taken.zip}}
""")
    run = run_flow_file(flow)
    assert run.result.status == "failed"
    assert "taken.zip already exists; choose another name, or set overwrite: true" in run.result.error
    assert (archive / "taken.zip").read_bytes() == b"keep me"
    with zipfile.ZipFile(archive / "two.zip") as made:
        assert sorted(made.namelist()) == ["new.xlsx", "notes.txt"]


def _archive(path: Path, entries: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)


@pytest.mark.parametrize("name", ["../evil.txt", "/abs/evil.txt", "ok/../../evil.txt", "C:/evil.txt"])
def test_zip_slip_names_are_refused_and_nothing_is_unpacked(folders, run_flow_file, tmp_path, name):
    _, archive = folders
    _archive(archive / "slip.zip", {"good.txt": b"fine", name: b"pwned"})
    flow = _flow(tmp_path, """
  - unzip: {file: {folder: archive, path: slip.zip}, to: {folder: archive, path: out}}
""")
    run = run_flow_file(flow)
    assert run.result.status == "failed"
    assert run.result.error == (f"unzip: slip.zip: the entry '{name}' would land outside the target folder; the "
                                f"archive was not unpacked")
    assert not (archive / "out").exists() and not (tmp_path / "evil.txt").exists()


def test_an_archive_bomb_is_refused_before_anything_is_inflated(folders, run_flow_file, tmp_path):
    _, archive = folders
    _archive(archive / "bomb.zip", {"zeros.bin": bytes(40 << 20)})
    flow = _flow(tmp_path, """
  - unzip: {file: {folder: archive, path: bomb.zip}, to: {folder: archive, path: out}, max_unpacked_mb: 10}
""")
    run = run_flow_file(flow)
    assert run.result.status == "failed"
    assert "bomb.zip would unpack to 40 MB, more than the limit of 10 MB, so it was not unpacked" in run.result.error
    assert not (archive / "out").exists() or list((archive / "out").iterdir()) == []


def test_unzip_refuses_to_overwrite_before_unpacking_anything(folders, run_flow_file, tmp_path):
    _, archive = folders
    _archive(archive / "two.zip", {"a.txt": b"new a", "b.txt": b"new b"})
    (archive / "b.txt").write_bytes(b"old b")
    flow = _flow(tmp_path, """
  - unzip: {file: {folder: archive, path: two.zip}, to: {folder: archive}}
""")
    run = run_flow_file(flow)
    assert run.result.status == "failed"
    assert "b.txt already exist; unzip into another folder, or set overwrite: true" in run.result.error
    assert not (archive / "a.txt").exists() and (archive / "b.txt").read_bytes() == b"old b"
    assert not [p for p in archive.iterdir() if p.name.startswith(".bastidor-")]


def test_a_damaged_archive_fails_in_one_line(folders, run_flow_file, tmp_path):
    _, archive = folders
    (archive / "broken.zip").write_bytes(b"PK\x03\x04 this is not really a zip")
    flow = _flow(tmp_path, """
  - unzip: {file: {folder: archive, path: broken.zip}, to: {folder: archive, path: out}}
""")
    run = run_flow_file(flow)
    assert run.result.status == "failed"
    assert run.result.error.startswith("unzip: broken.zip is not a readable zip archive")


def test_a_missing_source_fails_clearly(folders, run_flow_file, tmp_path):
    flow = _flow(tmp_path, """
  - move_file: {from: {folder: incoming, path: gone.xlsx}, to: {folder: archive}}
""")
    run = run_flow_file(flow)
    assert run.result.status == "failed"
    assert run.result.error == "move_file: the file 'gone.xlsx in the folder incoming' does not exist"


def test_validate_refuses_a_plain_path_and_an_undeclared_folder(tmp_path):
    flow = _flow(tmp_path, """
  - move_file: {from: incoming/new.xlsx, to: {folder: archive}}
  - copy_file: {from: {folder: incoming, path: a.xlsx}, to: {folder: archiv}}
""")
    done = subprocess.run([sys.executable, "runner.py", "validate", str(flow)], cwd=REPO, capture_output=True, check=False,
                          text=True, timeout=60)
    out = done.stdout + done.stderr
    assert done.returncode != 0
    assert (f"{flow}:7:23: 'from': 'incoming/new.xlsx' names no folder: write a file as {{folder: NAME, path: "
            f"sub/file.xlsx}} (NAME declared under folders:, or run)") in out
    assert (f"{flow}:8:70: folder 'archiv' is not declared under `folders:` in the flow's header, did you mean "
            f"'archive'?") in out
