"""Shipping a run's audit log and evidence to the shared database, so every machine's console sees them.

When a run ends (`ship_after_run`, called by the executor), its audit lines not yet in ``audit_records``
and the evidence files those lines name go to the shared database in one transaction: the lines are only
ever there with their evidence. Everything is keyed (log id and line number; run id and file name), so a
retry never duplicates. A line already there with other bytes is tampering on one side: it is reported,
never hidden, and nothing more of that log is shipped (the table keeps what it had).

A database that cannot be reached never fails the run: the files stay in the home folder, the run is
marked pending (``<home>/audit-shipping/pending/<run id>``), and the next run that ships, or `ship_pending`
(the service at start, or ``runner.py audit ship``), ships it later. Without a shared database nothing
happens: the home folder's files are the only copy, as they always were.
"""

from __future__ import annotations

import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bastidor.database.places import places_for

AUDIT_FILE = "audit.jsonl"
PENDING_FOLDER = Path("audit-shipping") / "pending"


@dataclass
class ShipReport:
    """What shipping one run's log did."""

    run_id: str
    lines_added: int = 0
    artifacts_added: int = 0
    conflicts: list[str] = field(default_factory=list)
    """Lines or evidence the database holds with other bytes: one side was edited after it was shipped."""
    missing: list[str] = field(default_factory=list)
    """Evidence files the log names that the run folder no longer has (the lines are shipped anyway)."""
    unreadable: str | None = None
    """Why the run's folder could not be read (nothing of it was shipped; it is tried again next time)."""


def ship_run(url: str, run_dir: Path) -> ShipReport:
    """Ship the whole lines of `run_dir`'s audit log not yet in the database, and the evidence they name.
    Raises OSError (the log cannot be read) or SQLAlchemyError (the database cannot be reached)."""
    from bastidor.audit.records_table import log_id_of
    from bastidor.audit.tables import prepare_shared_tables
    from bastidor.database.engines import postgres_engine

    with open(run_dir / AUDIT_FILE, "rb") as stream:
        report = ShipReport(log_id_of([stream.readline() for _ in range(3)], run_dir.name))
    engine = postgres_engine(url)
    prepare_shared_tables(engine)
    try:
        with engine.begin() as connection:
            _ship_lines(connection, report, run_dir)
            if report.conflicts:
                raise _Discard
    except _Discard:  # nothing of a log that conflicts is shipped: the table keeps what it had
        report.lines_added = report.artifacts_added = 0
    return report


class _Discard(Exception):
    """Rolls back a shipment that found a conflict."""


def _ship_lines(connection, report: ShipReport, run_dir: Path) -> None:
    """Compare, then append. The table is read before the file: every line a shipper took from the file
    before that is still in the file now, unless the file was cut back."""
    from bastidor.audit.records_table import append_lines, line_differences, shipped_lines, whole_lines

    shipped = shipped_lines(connection, report.run_id)
    lines = whole_lines((run_dir / AUDIT_FILE).read_bytes())
    report.conflicts += line_differences(report.run_id, shipped, lines)
    if report.conflicts:
        return
    new = [(number, line) for number, line in enumerate(lines, start=1) if number not in shipped]
    _ship_evidence(connection, report, run_dir, new)
    if report.conflicts:
        return
    inserted = append_lines(connection, report.run_id, new, socket.gethostname())
    report.lines_added = len(inserted)
    if len(inserted) < len(new):  # another shipper added some first (maybe more, from a later read): compare
        theirs = {number: line for number, line in shipped_lines(connection, report.run_id).items()
                  if number <= len(lines)}
        report.conflicts += line_differences(report.run_id, theirs, lines)


def _ship_evidence(connection, report: ShipReport, run_dir: Path, new: list[tuple[int, bytes]]) -> None:
    from bastidor.audit.artifacts import ArtifactConflict, ArtifactUnavailable, LocalArtifactStore
    from bastidor.audit.artifacts_pg import PostgresArtifactStore

    local, shared = LocalArtifactStore(folder=run_dir), PostgresArtifactStore(connection)
    for number, name in _evidence_names(new):
        try:
            report.artifacts_added += shared.put(report.run_id, name, local.read(report.run_id, name))
        except ArtifactUnavailable as problem:
            report.missing.append(f"line {number}: the evidence file {name} {problem}")
        except ArtifactConflict as conflict:
            report.conflicts.append(f"line {number}: {conflict}: the file in {run_dir} was changed after it was "
                                    "shipped, or the database's copy was")


def _evidence_names(new: list[tuple[int, bytes]]) -> list[tuple[int, str]]:
    import json

    from bastidor.audit.evidence import evidence_of

    names: list[tuple[int, str]] = []
    for number, line in new:
        try:
            record = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            continue
        if isinstance(record, dict):
            names += [(number, name) for name, _digest in evidence_of(record)]
    return names


def ship_after_run(run_dir: Path) -> ShipReport | None:
    """Ship a run that just ended, then the runs marked pending in its home. Never raises: a run's outcome
    never depends on the shared database taking its evidence (it says on standard error when it did not)."""
    home, run_id = Path(run_dir).parent.parent, Path(run_dir).name
    try:
        places = places_for(home)
        if not places.shared:
            return None
        report = ship_run(places.url, Path(run_dir))
    except Exception as error:  # the files stay; the run is shipped later
        _mark_pending(home, run_id)
        _warn(f"run {run_id}: its audit log and evidence stay in {run_dir} for now: the shared database could "
              f"not take them ({_cause(error)}); the next run, the service or `runner.py audit ship` ships them")
        return None
    _settle(home, report, run_id)
    for conflict in report.conflicts:
        _warn(f"run {run_id}: {conflict}")
    if not report.conflicts:
        _ship_marked(home, places.url)
    return report


def ship_pending(home: Path, url: str, *, limit: int | None = None) -> list[ShipReport]:
    """Ship every run of `home` whose audit log the shared database does not fully hold (at most `limit` runs,
    oldest first): the runs marked pending, and any run folder whose log is longer than its copy (a run killed
    before it could ship). Idempotent. A run folder that cannot be read is reported (`unreadable`) and the
    others are shipped all the same. Raises SQLAlchemyError when the database cannot be reached."""
    from bastidor.audit.records_table import shipped_sizes
    from bastidor.audit.tables import prepare_shared_tables
    from bastidor.database.engines import postgres_engine

    folders = {path.parent.name: path.parent for path in sorted(Path(home, "runs").glob(f"*/{AUDIT_FILE}"))}
    engine = postgres_engine(url)
    prepare_shared_tables(engine)
    with engine.connect() as connection:
        sizes = shipped_sizes(connection, list(folders))
    behind = [name for name, folder in folders.items() if _size(folder / AUDIT_FILE) > sizes.get(name, 0)]
    reports = []
    for run_id in sorted(set(behind) | set(_marked(home)))[:limit]:
        if run_id not in folders:
            _clear_pending(home, run_id)  # its folder is gone: nothing is left to ship
            continue
        try:
            report = ship_run(url, folders[run_id])
        except OSError as error:
            reports.append(ShipReport(run_id, unreadable=f"{error.strerror or error} ({error.filename or run_id})"))
            continue
        _settle(home, report, run_id)
        reports.append(report)
    return reports


def _ship_marked(home: Path, url: str) -> None:
    """Ship the runs marked pending (after a run shipped: the database is back); claimed one at a time."""
    for run_id in _marked(home):
        if not _clear_pending(home, run_id):
            continue  # another process claimed it
        try:
            _settle(home, ship_run(url, home / "runs" / run_id), run_id)
        except FileNotFoundError:
            continue
        except Exception:
            _mark_pending(home, run_id)
            return


def _settle(home: Path, report: ShipReport, run_id: str) -> None:
    """Keep a run pending while it conflicts (so it is reported again), else clear it."""
    if report.conflicts:
        _mark_pending(home, run_id)
    else:
        _clear_pending(home, run_id)


def _marked(home: Path) -> list[str]:
    try:
        return sorted(path.name for path in (home / PENDING_FOLDER).iterdir() if not path.name.startswith("."))
    except OSError:
        return []


def _mark_pending(home: Path, run_id: str) -> None:
    try:
        (home / PENDING_FOLDER).mkdir(parents=True, exist_ok=True)
        (home / PENDING_FOLDER / run_id).touch()
    except OSError:
        pass  # `ship_pending` still finds the run: its log is longer than its copy


def _clear_pending(home: Path, run_id: str) -> bool:
    try:
        (home / PENDING_FOLDER / run_id).unlink()
    except OSError:
        return False
    return True


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _cause(error: BaseException) -> str:
    cause = getattr(error, "orig", None) or error
    return (str(cause).strip().splitlines() or [type(cause).__name__])[0]


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)
