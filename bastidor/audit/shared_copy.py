"""Verifying a run's audit log wherever it is: the local file, the shared database's copy, or both.

    result = verify_run_audit(run_id, run.audit_path, url, run.audit_last_hash)

- Only the local file (no shared database, or nothing shipped yet): the file is verified, as always.
- Only the shared copy (the run ran on another machine): the table's lines are put back together into the
  file's exact bytes and verified by the same verifier (`verify_audit_bytes`), its evidence read from the
  database's artifact store; an edited line or a changed artifact is reported exactly like an edited file.
- Both: the file is verified, then compared with its copy line by line (a line that differs is an error:
  one side was edited after shipping), and the evidence the copy names is checked in the artifact store.

`SharedDatabaseUnavailable` says, in one line, that the database could not be read.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from bastidor.audit.verdicts import VerifyResult, decide_verdict
from bastidor.audit.verify import verify_audit_bytes, verify_audit_log


class SharedDatabaseUnavailable(RuntimeError):
    """The shared database could not be read; the message names it (without a password) and the cause."""


@dataclass(frozen=True)
class RunAudit:
    """A run's verified audit log: the `result`, and how the local file and the shared copy compare."""

    result: VerifyResult
    from_shared: bool = False
    """True when the log was read from the shared database (no local file on this machine)."""
    comparison: str | None = None
    """How the local file and the shared copy compare, when both were looked at."""


def shared_source(run_id: str) -> str:
    """How messages name the shared database's copy of a run's log."""
    return f"the shared database's copy of run {run_id}"


def verify_run_audit(run_id: str, audit_path: str | Path | None, url: str | None,
                     expected_last_hash: str | None = None, *,
                     public_keys: Mapping[str, Any] | Iterable[Any] | None = None,
                     anchors_dir: str | Path | None = None) -> RunAudit | None:
    """Verify the run's log (see the module); None when neither a local file nor a shared copy exists.
    Raises `SharedDatabaseUnavailable`."""
    options = {"public_keys": public_keys, "anchors_dir": anchors_dir, "expected_run_id": run_id}
    path = Path(audit_path) if audit_path else None
    if path is not None and path.is_file():
        result = verify_audit_log(path, expected_last_hash, **options)
        comparison = compare_with_shared(result, path, url, run_id) if url else None
        return RunAudit(result, comparison=comparison)
    if url is None:
        return None
    with shared_connection(url) as connection:
        from bastidor.audit.records_table import shared_log_bytes

        data = shared_log_bytes(connection, run_id)
    if data is None:
        return None
    artifacts = _artifact_store(url)
    return RunAudit(verify_audit_bytes(data, artifacts, shared_source(run_id), expected_last_hash, **options),
                    from_shared=True)


def shared_evidence(url: str | None, run_id: str, name: str) -> bytes | None:
    """The evidence file `name` of `run_id` from the shared database's artifact store; None when no database is
    set, it does not hold the file, or it cannot be read."""
    from bastidor.audit.artifacts import ArtifactUnavailable

    if url is None:
        return None
    try:
        return _artifact_store(url).read(run_id, name)
    except (ArtifactUnavailable, SQLAlchemyError):
        return None


def compare_with_shared(result: VerifyResult, path: Path, url: str, run_id: str) -> str:
    """Compare the verified file at `path` with its shared copy: differing lines and changed evidence in the
    copy are added to `result` (its verdict recomputed); returns what the comparison found, in one line."""
    from bastidor.audit.records_table import line_differences, shipped_lines, whole_lines

    with shared_connection(url) as connection:
        shipped = shipped_lines(connection, run_id)
    lines = whole_lines(path.read_bytes())
    if not shipped:
        summary = "The shared database holds no line of this log yet: `runner.py audit ship` ships it."
        result.add(None, None, summary[:-1], "warning", area="copy")
        return summary
    for problem in line_differences(run_id, shipped, lines):
        result.add(None, None, problem, area="copy")
    _check_shared_evidence(result, url, run_id, shipped)
    result.verdict = decide_verdict(result)
    return _summary(len(shipped), len(lines), result)


def _summary(shipped: int, local: int, result: VerifyResult) -> str:
    if any(problem.area == "copy" and problem.severity == "error" for problem in result.problems):
        return "The local file and the shared database's copy DIFFER (see above)."
    if shipped < local:
        return (f"The shared database holds the first {shipped} of the file's {local} lines, the same bytes; "
                "the rest are not shipped yet.")
    return f"The shared database holds the same {shipped} lines as the local file."


def _check_shared_evidence(result: VerifyResult, url: str, run_id: str, shipped: dict[int, bytes]) -> None:
    from bastidor.audit.evidence import evidence_of, evidence_problem

    store = _artifact_store(url)
    for number, line in sorted(shipped.items()):
        record = _record(line)
        for name, digest in evidence_of(record) if record else ():
            problem = evidence_problem(store, run_id, name, digest)
            if problem:
                result.add(number, record.get("seq"), f"line {number} (seq {record.get('seq')}): the evidence "
                           f"file {name} in the shared database {problem}", area="evidence")


def _record(line: bytes) -> dict[str, Any] | None:
    try:
        record = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _artifact_store(url: str):
    from bastidor.audit.artifacts_pg import PostgresArtifactStore
    from bastidor.database.engines import postgres_engine

    return PostgresArtifactStore(postgres_engine(url))


@contextmanager
def shared_connection(url: str) -> Iterator[Any]:
    """A connection to the shared database with its audit tables; a failure becomes one clear line."""
    from sqlalchemy.exc import SQLAlchemyError

    from bastidor.audit.tables import prepare_shared_tables
    from bastidor.database.engines import postgres_engine

    try:
        engine = postgres_engine(url)
        prepare_shared_tables(engine)
        with engine.connect() as connection:
            yield connection
    except SQLAlchemyError as error:
        raise _unavailable(url, error) from error


def _unavailable(url: str, error: BaseException) -> SharedDatabaseUnavailable:
    from bastidor.database.places import safe_url

    cause = getattr(error, "orig", None) or error
    reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    return SharedDatabaseUnavailable(f"the shared database {safe_url(url)} cannot be read ({reason}); check that "
                                     "PostgreSQL is running and the URL is right")
