"""Checking the evidence files an audit log names: each must still be there with the SHA-256 it recorded.

A record names a file with a hash in two ways: a failed step's ``screenshot`` and ``screenshot_sha256``,
and a step's ``result`` from `bastidor.actions.browser_files` (``screenshot`` and ``screenshot_sha256``
from the ``screenshot`` step, ``file`` and ``sha256`` from ``download`` and ``save_pdf``). The files are read from an
`bastidor.audit.artifacts.ArtifactStore`: the log's own folder for a log file (relative paths may not lead
out of it; see `LocalArtifactStore`), or the shared database for a log read from there. Either way a file
whose bytes no longer hash to what the log recorded is reported the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bastidor.audit.artifacts import ArtifactStore, ArtifactUnavailable
from bastidor.audit.chain import Record
from bastidor.audit.verdicts import VerifyResult

EVIDENCE_KEYS = (("screenshot", "screenshot_sha256"), ("file", "sha256"))
"""(file key, hash key) pairs that name an evidence file and its SHA-256."""
EVIDENCE_ACTIONS = frozenset({"screenshot", "save_pdf", "download"})
"""The steps whose ``result`` names a file the run itself made as evidence. Other steps may record a file and
its hash too (`read_pdf` the PDF it read, `unzip` its archive, the file steps what they moved), but those files
are inputs or work, kept wherever the flow keeps them, not evidence the run folder must hold."""
CHANGED = "was changed after it was recorded: its SHA-256 no longer matches the one in the log"


def check_evidence(result: VerifyResult, records: list[Record], store: ArtifactStore) -> None:
    """Note an error for every evidence file that is missing, changed or out of the store's reach."""
    for record in records:
        for name, digest in evidence_of(record.data):
            result.evidence_files += 1
            problem = evidence_problem(store, str(record.data.get("run_id")), name, digest)
            if problem:
                result.add(record.line, record.seq, f"{record.where}: the evidence file {name} {problem}",
                           area="evidence")


def evidence_of(record: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Every (file path, recorded SHA-256) that `record` names: a failure screenshot on the record itself, and
    the file in the ``result`` of a step that makes evidence (`EVIDENCE_ACTIONS`)."""
    places = [record, record.get("result") if record.get("action") in EVIDENCE_ACTIONS else None]
    for place in places:
        if not isinstance(place, dict):
            continue
        for name_key, hash_key in EVIDENCE_KEYS:
            name, digest = place.get(name_key), place.get(hash_key)
            if isinstance(name, str) and isinstance(digest, str) and name:
                yield name, digest


def evidence_problem(store: ArtifactStore, run_id: str, name: str, digest: str) -> str | None:
    """What is wrong with the evidence file `name` in `store` (a phrase that follows its name), or None."""
    try:
        actual = store.sha256(run_id, name)
    except ArtifactUnavailable as problem:
        return str(problem)
    return CHANGED if actual != digest.lower() else None
