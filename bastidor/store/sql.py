"""`SqlRunStore`: the run store on SQLAlchemy Core. SQLite today; any SQLAlchemy URL works the same way.

SQLite connections use WAL mode (readers never block the writer), a busy timeout (concurrent writers
wait instead of failing) and foreign keys. Every call is one short transaction.
"""

from __future__ import annotations

import difflib
import json
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, Sequence

from sqlalchemy import Connection, Engine, create_engine, event, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bastidor.store.base import AmbiguousRunIdError, RunNotFoundError, RunStore, StoreError
from bastidor.audit.canonical import to_jsonable
from bastidor.store.records import ItemRecord, RunRecord, StepRecord, utc_now
from bastidor.store.schema import items, runs, steps
from bastidor.database.schema import prepare_tables

SQLITE_BUSY_TIMEOUT_MS = 30_000
RUN_FIELDS = frozenset(field.name for field in fields(RunRecord))


class SqlRunStore(RunStore):
    """A `RunStore` on any SQLAlchemy database URL; creates its tables when it opens."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = _create_engine(url)
        try:
            prepare_tables(self.engine, "runs")
        except SQLAlchemyError as error:
            self.engine.dispose()
            raise StoreError(f"Cannot open the run store at {url}: {_reason(error)}.") from error

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """One transaction; a database that cannot be written (full disk, read-only file, locked too long)
        raises `StoreError` naming the store and the cause. Integrity errors are left to the caller."""
        try:
            with self.engine.begin() as connection:
                yield connection
        except IntegrityError:
            raise
        except SQLAlchemyError as error:
            self.engine.dispose()  # a connection opened while the file was read-only stays read-only: open anew
            raise StoreError(f"The run store {self.where} cannot be written: {_reason(error)}. Free disk space or "
                             "fix the file's permissions; runs stop as crashed until then.") from error

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as connection:
                yield connection
        except SQLAlchemyError as error:
            raise StoreError(f"The run store {self.where} cannot be read: {_reason(error)}.") from error

    @property
    def where(self) -> str:
        """The store's file (SQLite) or its URL without the password, for messages."""
        url = self.engine.url
        return url.database if url.get_backend_name() == "sqlite" and url.database else url.render_as_string()

    def create_run(self, run: RunRecord) -> None:
        """Add a new run; raise `StoreError` if a run with that id exists."""
        try:
            with self._writing() as connection:
                connection.execute(insert(runs).values(**asdict(run)))
        except IntegrityError as error:
            raise StoreError(f"A run with id {run.run_id} already exists; each run needs a new id.") from error

    def update_run(self, run_id: str, **changes: Any) -> None:
        """Set `changes` (RunRecord field names) on the run; raise `RunNotFoundError` if it does not exist."""
        _check_run_fields(changes)
        if not changes:
            return
        with self._writing() as connection:
            result = connection.execute(update(runs).where(runs.c.run_id == run_id).values(**changes))
        if result.rowcount == 0:
            raise RunNotFoundError(f"No run has the id {run_id}; nothing was updated.")

    def add_steps(self, records: Sequence[StepRecord]) -> None:
        """Add step records in one transaction; raise `StoreError` on a duplicate seq or an unknown run."""
        if not records:
            return
        try:
            with self._writing() as connection:
                connection.execute(insert(steps), [asdict(step) for step in records])
        except IntegrityError as error:
            first = records[0]
            if not self._run_exists(first.run_id):
                raise _unknown_run(first.run_id, f"step seq {first.seq}") from error
            seqs = f"{first.seq}" if len(records) == 1 else f"in {first.seq}..{records[-1].seq}"
            raise StoreError(f"Run {first.run_id} already has a step with seq {seqs}; seqs are unique.") from error

    def upsert_item(self, item: ItemRecord) -> None:
        """Insert the item, or replace the stored one with the same run_id and item_ref, atomically."""
        values = asdict(item)
        dialect_insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        statement = dialect_insert(items).values(**values)
        changes = {key: value for key, value in values.items() if key not in ("run_id", "item_ref")}
        statement = statement.on_conflict_do_update(index_elements=["run_id", "item_ref"], set_=changes)
        try:
            with self._writing() as connection:
                connection.execute(statement)
        except IntegrityError as error:
            raise _unknown_run(item.run_id, f"item {item.item_ref}") from error

    def close_orphaned_run(self, run_id: str, reason: str, *, status: str = "crashed",
                           outcomes: Mapping[str, str] | None = None) -> bool:
        """End a run whose process died while it was running: the run becomes `status` (crashed) with
        `reason`; each unfinished item becomes successful when `outcomes` (the work queue's state by
        reference) says it was done, otherwise failed (application); the run's counts are recounted from its
        items. False, and nothing changes, when the run is not running."""
        now = utc_now()
        with self._writing() as connection:
            ended = connection.execute(update(runs).where(runs.c.run_id == run_id, runs.c.status == "running")
                                       .values(status=status, ended_at=now, error=reason))
            if ended.rowcount == 0:
                return False
            done = [ref for ref, state in (outcomes or {}).items() if state == "successful"]
            _end_unfinished_items(connection, run_id, done, reason, now)
            connection.execute(update(runs).where(runs.c.run_id == run_id).values(**_item_counts(connection, run_id)))
        return True

    def get_run(self, run_id: str) -> RunRecord | None:
        """Return the run with this id or unique id prefix, None if none; `AmbiguousRunIdError` if several."""
        if not run_id:
            return None
        query = select(runs).where(runs.c.run_id.startswith(run_id, autoescape=True)).limit(11)
        with self._reading() as connection:
            rows = connection.execute(query.order_by(runs.c.run_id)).mappings().all()
        exact = [row for row in rows if row["run_id"] == run_id]
        if exact or len(rows) == 1:
            return RunRecord(**(exact or rows)[0])
        if rows:
            raise _ambiguous(run_id, [row["run_id"] for row in rows])
        return None

    def list_runs(self, limit: int = 50, flow: str | None = None, status: str | None = None) -> list[RunRecord]:
        """Return up to `limit` runs, newest first, optionally only of one flow and/or one status."""
        query = select(runs).order_by(runs.c.started_at.desc(), runs.c.run_id.desc()).limit(limit)
        if flow is not None:
            query = query.where(runs.c.flow_name == flow)
        if status is not None:
            query = query.where(runs.c.status == status)
        with self._reading() as connection:
            return [RunRecord(**row) for row in connection.execute(query).mappings()]

    def list_items(self, run_id: str) -> list[ItemRecord]:
        """Return the items of a run in the order they started."""
        query = select(items).where(items.c.run_id == run_id).order_by(items.c.started_at, items.c.item_ref)
        with self._reading() as connection:
            return [ItemRecord(**row) for row in connection.execute(query).mappings()]

    def list_steps(self, run_id: str) -> list[StepRecord]:
        """Return the steps of a run ordered by seq."""
        query = select(steps).where(steps.c.run_id == run_id).order_by(steps.c.seq)
        with self._reading() as connection:
            return [StepRecord(**row) for row in connection.execute(query).mappings()]

    def close(self) -> None:
        """Release all pooled connections."""
        self.engine.dispose()

    def _run_exists(self, run_id: str) -> bool:
        with self._reading() as connection:
            return connection.execute(select(runs.c.run_id).where(runs.c.run_id == run_id)).first() is not None


def open_run_store(location: str | Path) -> RunStore:
    """Open the run store at `location`: a file path (a SQLite file, parent folders created) or a URL."""
    text = str(location)
    if "://" in text:
        return SqlRunStore(text)
    path = Path(location).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqlRunStore(f"sqlite:///{path}")


def _end_unfinished_items(connection: Connection, run_id: str, done: list[str], reason: str, now: Any) -> None:
    unfinished = (items.c.run_id == run_id, items.c.status == "in_progress")
    if done:
        connection.execute(update(items).where(*unfinished, items.c.item_ref.in_(done))
                           .values(status="successful", ended_at=now))
    connection.execute(update(items).where(*unfinished)
                       .values(status="failed", exception="application", reason=reason, ended_at=now))


def _item_counts(connection: Connection, run_id: str) -> dict[str, int]:
    """The run's item totals as its item records say."""
    query = select(items.c.status, func.count()).where(items.c.run_id == run_id).group_by(items.c.status)
    by_status = dict(connection.execute(query).all())
    return {"items_total": sum(by_status.values()), "items_succeeded": by_status.get("successful", 0),
            "items_failed": by_status.get("failed", 0)}


def _create_engine(url: str) -> Engine:
    engine = create_engine(url, json_serializer=_dumps_json)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", configure_sqlite_connection)
    return engine


def _dumps_json(value: Any) -> str:
    return json.dumps(to_jsonable(value), ensure_ascii=False)


def configure_sqlite_connection(dbapi_connection: Any, connection_record: Any) -> None:
    """SQLAlchemy "connect" listener for Bastidor's SQLite files: a busy timeout, WAL and foreign keys."""
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    enable_wal(cursor, SQLITE_BUSY_TIMEOUT_MS / 1000)
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def enable_wal(cursor: Any, timeout_s: float) -> None:
    """Switch a SQLite connection to WAL, retrying while locked: SQLite answers this pragma "database is
    locked" at once, without its busy timeout, while another process converts or checkpoints the file."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def _check_run_fields(changes: dict[str, Any]) -> None:
    for name in changes:
        if name not in RUN_FIELDS or name == "run_id":
            close = difflib.get_close_matches(name, sorted(RUN_FIELDS - {"run_id"}), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"A run has no field {name!r} that can be updated.{hint}")


def _ambiguous(prefix: str, matches: list[str]) -> AmbiguousRunIdError:
    shown = ", ".join(matches[:10]) + (", ..." if len(matches) > 10 else "")
    return AmbiguousRunIdError(
        f"The run id prefix {prefix!r} matches several runs ({shown}); type more characters of the id."
    )


def _unknown_run(run_id: str, what: str) -> StoreError:
    return StoreError(f"Cannot store {what}: no run has the id {run_id}. Create the run first.")


def _reason(error: SQLAlchemyError) -> str:
    original = getattr(error, "orig", None)
    return str(original or error).splitlines()[0]
