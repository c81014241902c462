"""The audit verifier: proves a log was not altered, or names the exact record that was.

`verify_audit_log` checks, in order:

1. the hash chain, record by record (`bastidor.audit.chain`): edited, removed, reordered, duplicated or
   mixed-in records, damaged lines, and writes cut short;
2. the seals (`bastidor.audit.seal_check`): every checkpoint's signature, the log's anchor outside the
   home (was the log cut back?), and the unsigned records after the last good seal;
3. how the log ends, by its kind (`bastidor.audit.endings`), and the run store's last hash when given;
4. every evidence file the log names, by its SHA-256 (`bastidor.audit.evidence`).

`verify_audit_bytes` runs the same checks on a log read from the shared database (its evidence from the
database's artifact store), so a copy there is judged exactly as the file.

The findings add up to one verdict (`bastidor.audit.verdicts`): verified, incomplete, unsigned or
NOT VERIFIED. Public keys come from `public_keys` or, by default, from `verification_keys`; the anchor is
looked for in `anchors_dir`, by default the anchors folder beside the signing key.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from glob import escape as glob_escape
from pathlib import Path
from typing import Any

from bastidor.audit.anchors import AnchorStore, AnchorUnreadable, anchor_file_name, anchors_folder
from bastidor.audit.artifacts import ArtifactStore, LocalArtifactStore
from bastidor.audit.chain import read_chain
from bastidor.audit.endings import check_ending
from bastidor.audit.evidence import check_evidence
from bastidor.audit.kinds import kind_of
from bastidor.audit.public_keys import key_id_of, verification_keys
from bastidor.audit.seal_check import AnchorLookup, SealCheck
from bastidor.audit.verdicts import (
    AuditProblem,
    VerifyResult,
    decide_verdict,
    format_result,
)

__all__ = ["AuditProblem", "VerifyResult", "format_result", "verify_audit_bytes", "verify_audit_log"]


def verify_audit_log(path: str | Path, expected_last_hash: str | None = None, *,
                     public_keys: Mapping[str, Any] | Iterable[Any] | None = None,
                     anchors_dir: str | Path | None = None, expected_run_id: str | None = None) -> VerifyResult:
    """Verify the audit log at `path` and return what was found, with its verdict.

    `expected_last_hash` and `expected_run_id` are what the run store kept for the run the log should belong
    to; `public_keys` the keys to trust (by key id, or a list of keys); `anchors_dir` where the anchors are."""
    result = VerifyResult(path=Path(path))
    folder = Path(anchors_dir) if anchors_dir else anchors_folder()
    anchor = _anchor_lookup(_identity_of_file(result.path), folder)
    try:
        data = result.path.read_bytes()  # after the anchor: a log being written only ever gets ahead of it
    except OSError as error:
        result.add(None, None, f"cannot read {path}: {error.strerror or error}")
        return result
    return _verify(result, data, anchor, LocalArtifactStore(folder=result.path.parent), expected_last_hash,
                   public_keys, folder, expected_run_id)


def verify_audit_bytes(data: bytes, artifacts: ArtifactStore, source: str, expected_last_hash: str | None = None,
                       *, public_keys: Mapping[str, Any] | Iterable[Any] | None = None,
                       anchors_dir: str | Path | None = None, expected_run_id: str | None = None) -> VerifyResult:
    """Verify a log's bytes read from elsewhere than a file (the shared database), exactly as a file is
    verified; its evidence comes from `artifacts`, and `source` names where the log was read, for messages."""
    result = VerifyResult(path=Path(source), source=source)
    folder = Path(anchors_dir) if anchors_dir else anchors_folder()
    anchor = _anchor_lookup(_identity(data.split(b"\n", 3)[:3]), folder)
    return _verify(result, data, anchor, artifacts, expected_last_hash, public_keys, folder, expected_run_id)


def _verify(result: VerifyResult, data: bytes, anchor: AnchorLookup, artifacts: ArtifactStore,
            expected_last_hash: str | None, public_keys: Mapping[str, Any] | Iterable[Any] | None,
            anchors: Path, expected_run_id: str | None) -> VerifyResult:
    chain = read_chain(data)
    result.run_id, result.records, result.problems = chain.run_id, chain.records, chain.problems
    _check_owner(result, expected_run_id)
    if not chain.records and expected_run_id is not None:
        _check_not_emptied(result, expected_run_id, anchors)
    records = chain.in_order
    kind = kind_of(records[0].data.get("flow") if records else None)
    result.kind, result.open_ended = kind.description, kind.open_ended
    SealCheck(result, records, _trusted_keys(public_keys, result), anchor).run()
    check_ending(result, records, kind, expected_last_hash)
    check_evidence(result, records, artifacts)
    result.verdict = decide_verdict(result)
    return result


def _check_owner(result: VerifyResult, expected_run_id: str | None) -> None:
    if expected_run_id is not None and result.run_id not in (None, expected_run_id):
        result.add(None, None, f"the log belongs to run {result.run_id}, not to run {expected_run_id}: it was "
                   "copied over this run's log", area="end")


def _check_not_emptied(result: VerifyResult, run_id: str, folder: Path) -> None:
    """An empty log of a run that has an anchor outside the home was written once, then emptied."""
    prefix = anchor_file_name(run_id, "").removesuffix(".json")
    if any(folder.glob(f"{glob_escape(prefix)}*.json")):
        result.add(None, None, f"the log is empty, but an anchor outside the home shows that run {run_id} wrote "
                   "and sealed records in it: they were removed", area="end")


def _trusted_keys(public_keys: Mapping[str, Any] | Iterable[Any] | None, result: VerifyResult) -> dict[str, Any]:
    if public_keys is None:
        try:
            return verification_keys()
        except ValueError as error:
            result.add(None, None, f"$BASTIDOR_AUDIT_PUBLIC_KEY cannot be read: {error}", area="seals")
            return {}
    if isinstance(public_keys, Mapping):
        return dict(public_keys)
    return {key_id_of(key): key for key in public_keys}


def _anchor_lookup(identity: tuple[str, str] | None, folder: Path) -> AnchorLookup:
    if identity is None:
        return AnchorLookup(folder)
    try:
        return AnchorLookup(folder, AnchorStore(folder).load(*identity))
    except AnchorUnreadable as error:
        return AnchorLookup(folder, unusable=str(error))
    except OSError as error:
        return AnchorLookup(folder, unusable=f"the anchor in {folder} cannot be read ({error.strerror or error})")


def _identity_of_file(path: Path) -> tuple[str, str] | None:
    """The log's identity, read from its first lines alone."""
    try:
        with open(path, "rb") as stream:
            lines = [stream.readline() for _ in range(3)]
    except OSError:
        return None
    return _identity(lines)


def _identity(lines: list[bytes]) -> tuple[str, str] | None:
    """The log's (run id, first record's hash), from its first lines (the first may be torn)."""
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("seq") == 1:
            run_id, first_hash = record.get("run_id"), record.get("hash")
            return (run_id, first_hash) if isinstance(run_id, str) and isinstance(first_hash, str) else None
    return None
