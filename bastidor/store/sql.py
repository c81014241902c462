"""`SqlRunStore`: the run store on SQLAlchemy Core, the same on a SQLite file and on PostgreSQL.

Every call is one short transaction with portable SQL. On PostgreSQL a call whose connection is lost
(the server restarted, the network dropped) is tried again with backoff (`bastidor.store.reconnect`) for
a bounded time, then fails with one line naming the database. A write sent again after its COMMIT went
unanswered first checks whether the database kept it (`bastidor.store.replays`), so it is stored once and
never reported done when it is not.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, Sequence, TypeVar

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bastidor.database.schema import SchemaVersionError, prepare_tables
from bastidor.store.base import AmbiguousRunIdError, RunNotFoundError, RunStore, StoreError
from bastidor.store.engines import (  # noqa: F401  (configure_sqlite_connection, enable_wal: imported from here)
    configure_sqlite_connection,
    database_url,
    describe,
    enable_wal,
    open_engine,
)
from bastidor.store.reconnect import Attempt, Reconnect, ReconnectPolicy, connection_lost
from bastidor.store.records import ItemRecord, RunRecord, StepRecord, utc_now
from bastidor.store.replays import run_is_stored, run_was_ended, steps_are_stored
from bastidor.store.schema import items, runs, steps

RUN_FIELDS = frozenset(field.name for field in fields(RunRecord))
T = TypeVar("T")


class SqlRunStore(RunStore):
    """A `RunStore` on a SQLAlchemy database URL; creates its tables when it opens."""

    def __init__(self, url: str, *, reconnect: ReconnectPolicy | None = None) -> None:
        self.url = url
        self.engine, self._shared = open_engine(url)
        self._reconnect = Reconnect(reconnect or ReconnectPolicy.from_environment(), enabled=self._shared)
        try:
            self._reconnect.run(lambda attempt: prepare_tables(self.engine, "runs"))
        except SQLAlchemyError as error:
            self.close()
            raise StoreError(f"Cannot open the run store at {self.where}: {_reason(error)}.{self._fix(error)}") \
                from error

    @property
    def where(self) -> str:
        """The store's file (SQLite) or its URL without the password, for messages."""
        return describe(self.engine)

    def create_run(self, run: RunRecord) -> None:
        """Add a new run; raise `StoreError` if a run with that id exists."""
        try:
            self._write(lambda connection, attempt: connection.execute(insert(runs).values(**asdict(run))),
                        stored=lambda connection: run_is_stored(connection, run))
        except IntegrityError as error:
            raise StoreError(f"A run with id {run.run_id} already exists; each run needs a new id.") from error

    def update_run(self, run_id: str, **changes: Any) -> None:
        """Set `changes` (RunRecord field names) on the run; raise `RunNotFoundError` if it does not exist."""
        _check_run_fields(changes)
        if not changes:
            return
        statement = update(runs).where(runs.c.run_id == run_id).values(**changes)
        if self._write(lambda connection, attempt: connection.execute(statement).rowcount) == 0:
            raise RunNotFoundError(f"No run has the id {run_id}; nothing was updated.")

    def add_steps(self, records: Sequence[StepRecord]) -> None:
        """Add step records in one transaction; raise `StoreError` on a duplicate seq or an unknown run."""
        if not records:
            return
        try:
            self._write(lambda connection, attempt: connection.execute(insert(steps), [asdict(s) for s in records]),
                        stored=lambda connection: steps_are_stored(connection, records))
        except IntegrityError as error:
            first = records[0]
            if not self._run_exists(first.run_id):
                raise _unknown_run(first.run_id, f"step seq {first.seq}") from error
            seqs = f"{first.seq}" if len(records) == 1 else f"in {first.seq}..{records[-1].seq}"
            raise StoreError(f"Run {first.run_id} already has a step with seq {seqs}; seqs are unique.") from error

    def upsert_item(self, item: ItemRecord) -> None:
        """Insert the item, or replace the stored one with the same run_id and item_ref, atomically (so
        writing it again after a lost connection changes nothing)."""
        values = asdict(item)
        dialect_insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        statement = dialect_insert(items).values(**values)
        changes = {key: value for key, value in values.items() if key not in ("run_id", "item_ref")}
        statement = statement.on_conflict_do_update(index_elements=["run_id", "item_ref"], set_=changes)
        try:
            self._write(lambda connection, attempt: connection.execute(statement))
        except IntegrityError as error:
            raise _unknown_run(item.run_id, f"item {item.item_ref}") from error

    def close_orphaned_run(self, run_id: str, reason: str, *, status: str = "crashed",
                           outcomes: Mapping[str, str] | None = None) -> bool:
        """End a run whose process died while it was running: the run becomes `status` (crashed) with
        `reason`; each unfinished item becomes successful when `outcomes` (the work queue's state by
        reference) says it was done, otherwise failed (application); the run's counts are recounted from its
        items. False, and nothing changes, when the run is not running."""
        now = utc_now()
        done = [ref for ref, state in (outcomes or {}).items() if state == "successful"]

        def write(connection: Connection, attempt: Attempt) -> bool:
            ended = connection.execute(update(runs).where(runs.c.run_id == run_id, runs.c.status == "running")
                                       .values(status=status, ended_at=now, error=reason))
            if ended.rowcount == 0:
                return attempt.uncertain and run_was_ended(connection, run_id, status, reason, now)
            _end_unfinished_items(connection, run_id, done, reason, now)
            connection.execute(update(runs).where(runs.c.run_id == run_id).values(**_item_counts(connection, run_id)))
            return True

        return self._write(write)

    def get_run(self, run_id: str) -> RunRecord | None:
        """Return the run with this id or unique id prefix, None if none; `AmbiguousRunIdError` if several."""
        if not run_id:
            return None
        query = (select(runs).where(func.lower(runs.c.run_id).startswith(run_id.lower(), autoescape=True))
                 .order_by(runs.c.run_id).limit(11))
        rows = self._read(lambda connection: connection.execute(query).mappings().all())
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
        return self._read(lambda connection: [RunRecord(**row) for row in connection.execute(query).mappings()])

    def list_items(self, run_id: str) -> list[ItemRecord]:
        """Return the items of a run in the order they started."""
        query = select(items).where(items.c.run_id == run_id).order_by(items.c.started_at, items.c.item_ref)
        return self._read(lambda connection: [ItemRecord(**row) for row in connection.execute(query).mappings()])

    def list_steps(self, run_id: str) -> list[StepRecord]:
        """Return the steps of a run ordered by seq."""
        query = select(steps).where(steps.c.run_id == run_id).order_by(steps.c.seq)
        return self._read(lambda connection: [StepRecord(**row) for row in connection.execute(query).mappings()])

    def close(self) -> None:
        """Release the store's connections (a shared PostgreSQL engine stays open for the process's other stores)."""
        if not self._shared:
            self.engine.dispose()

    def _write(self, work: Callable[[Connection, Attempt], T], *,
               stored: Callable[[Connection], bool] | None = None) -> T | None:
        """`work` in one transaction, tried again while the connection is lost. When a try lost its connection
        after it may have committed, `stored` says whether the database kept it: then it is not written again
        (checked again after a duplicate, in case that COMMIT was still finishing on the server). A database
        that cannot be written raises `StoreError` naming it and the cause; integrity errors are the caller's."""
        def attempt_once(attempt: Attempt) -> T | None:
            try:
                with self.engine.begin() as connection:
                    if attempt.uncertain and stored is not None and stored(connection):
                        return None
                    return work(connection, attempt)
            except IntegrityError:
                if attempt.uncertain and stored is not None and self._read_once(stored):
                    return None
                raise

        try:
            return self._reconnect.run(attempt_once)
        except IntegrityError:
            raise
        except SQLAlchemyError as error:
            if not self._shared:
                self.engine.dispose()  # a connection opened while the file was read-only stays read-only: open anew
            raise StoreError(f"The run store {self.where} cannot be written: {_reason(error)}.{self._fix(error)}") \
                from error

    def _read_once(self, work: Callable[[Connection], T]) -> T:
        with self.engine.connect() as connection:
            return work(connection)

    def _read(self, work: Callable[[Connection], T]) -> T:
        try:
            return self._reconnect.run(lambda attempt: self._read_once(work))
        except SQLAlchemyError as error:
            fix = self._fix(error, writing=False) if self._shared else ""
            raise StoreError(f"The run store {self.where} cannot be read: {_reason(error)}.{fix}") from error

    def _fix(self, error: SQLAlchemyError, *, writing: bool = True) -> str:
        """What to do about `error`, as a sentence that ends the message (and what happens to runs meanwhile)."""
        meanwhile = "; runs stop as crashed until then." if writing else "."
        if isinstance(error, SchemaVersionError):
            return ""  # its message says what to run
        if not self._shared:
            return f" Free disk space or fix the file's permissions{meanwhile}"
        if connection_lost(error):
            return (f" It was retried for {self._reconnect.policy.give_up_after_s:g} s. Check that PostgreSQL is "
                    f"running and reachable from this machine{meanwhile}")
        return " Check the database URL (--database or $BASTIDOR_DATABASE_URL) and the database user's rights."

    def _run_exists(self, run_id: str) -> bool:
        query = select(runs.c.run_id).where(runs.c.run_id == run_id)
        return self._read(lambda connection: connection.execute(query).first() is not None)


def open_run_store(location: str | Path, *, reconnect: ReconnectPolicy | None = None) -> RunStore:
    """Open the run store at `location`: a SQLite file path (parent folders created) or a database URL
    (PostgreSQL: the process's shared engine; `reconnect` bounds how long a lost connection is retried)."""
    return SqlRunStore(database_url(location), reconnect=reconnect)


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
    return str(original or error).strip().splitlines()[0]
