"""Checking the evidence files an audit log names: each must still be there with the SHA-256 it recorded.

A record names a file with a hash in two ways: a failed step's ``screenshot`` and ``screenshot_sha256``,
and a step's ``result`` from `bastidor.actions.browser_files` (``screenshot`` and ``screenshot_sha256``
from the ``screenshot`` step, ``file`` and ``sha256`` from ``download``). Relative paths are relative to
the log's folder (the run folder) and may not lead out of it. Absolute paths (downloads) are checked where
they were saved; when that is gone and the path runs through the run's own folder, the same file is looked
for in the log's folder, so a run folder that was moved as a whole still verifies.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bastidor.audit.chain import Record
from bastidor.audit.verdicts import VerifyResult

EVIDENCE_KEYS = (("screenshot", "screenshot_sha256"), ("file", "sha256"))
"""(file key, hash key) pairs that name an evidence file and its SHA-256."""
_CHUNK = 1 << 20


def check_evidence(result: VerifyResult, records: list[Record], folder: Path) -> None:
    """Note an error for every evidence file that is missing, changed or outside the log's folder."""
    for record in records:
        for name, digest in evidence_of(record.data):
            result.evidence_files += 1
            problem = _problem_with(name, digest, folder, str(record.data.get("run_id")))
            if problem:
                result.add(record.line, record.seq, f"{record.where}: the evidence file {name} {problem}",
                           area="evidence")


def evidence_of(record: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Every (file path, recorded SHA-256) that `record` names, on the record itself or in its ``result``."""
    places = [record, record.get("result")]
    for place in places:
        if not isinstance(place, dict):
            continue
        for name_key, hash_key in EVIDENCE_KEYS:
            name, digest = place.get(name_key), place.get(hash_key)
            if isinstance(name, str) and isinstance(digest, str) and name:
                yield name, digest


def _problem_with(name: str, digest: str, folder: Path, run_id: str) -> str | None:
    path = _locate(Path(name), folder, run_id)
    if path is None:
        return "leads out of the log's folder: evidence is only looked for inside it"
    try:
        actual = _sha256_of(path)
    except FileNotFoundError:
        return "is missing: it was deleted or moved"
    except OSError as error:
        return f"cannot be read ({error.strerror or error})"
    if actual != digest.lower():
        return "was changed after it was recorded: its SHA-256 no longer matches the one in the log"
    return None


def _locate(path: Path, folder: Path, run_id: str) -> Path | None:
    if not path.is_absolute():
        candidate = folder / path
        inside = candidate.resolve().is_relative_to(folder.resolve())
        return candidate if inside else None
    if path.exists() or run_id not in path.parts:
        return path
    tail = path.parts[len(path.parts) - path.parts[::-1].index(run_id):]
    moved = folder.joinpath(*tail)
    return moved if tail and moved.exists() else path


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
