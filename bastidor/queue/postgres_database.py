"""The PostgreSQL connection behind `PostgresWorkQueue`: short READ COMMITTED transactions on the process's
shared engine, retried through lost connections, and never a change reported done that was not committed.

Every call is one transaction, run by `write` (or `read`) as a function of a connection, so it can be run
again from the start. A connection lost before COMMIT was sent leaves nothing behind (the server rolls the
transaction back): the work simply runs again on a new connection. A connection lost *while* COMMIT was in
flight leaves the outcome in doubt. Before committing, a write asks for its transaction id; after such a
loss it asks PostgreSQL for that transaction's fate (``pg_xact_status``, made for this purpose):

- committed: the result computed before the COMMIT is returned; the work is not run again;
- aborted: the work runs again from the start, seeing the rows as they are now;
- in progress (the old server process has not noticed the loss yet): asked again after a short wait.

Each write also sets ``idle_in_transaction_session_timeout`` for its own transaction, so the server process
of a transaction cut off mid-way (a network partition that never closed the socket) ends within
`IDLE_IN_TRANSACTION_MS`, releasing its row locks and letting the question above be answered.

When the database stays unreachable for the whole `Reconnect` budget the caller gets a `QueueError` naming
the database (password hidden) and the cause, or `OutcomeUnknown` when the last COMMIT stayed in doubt.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from bastidor.database.engines import postgres_engine
from bastidor.database.places import safe_url
from bastidor.database.schema import prepare_tables
from bastidor.queue.base import OutcomeUnknown, QueueError
from bastidor.queue.reconnect import Reconnect, StillCommitting, cause_of, is_transient

T = TypeVar("T")
IDLE_IN_TRANSACTION_MS = 30_000

_SESSION_GUARD = text(f"SELECT set_config('idle_in_transaction_session_timeout', '{IDLE_IN_TRANSACTION_MS}', true)")
_TRANSACTION_ID = text("SELECT CAST(pg_current_xact_id_if_assigned() AS text)")
_FATE = text("SELECT pg_xact_status(CAST(:xid AS xid8))")


class PostgresDatabase:
    """One PostgreSQL database opened for the queue; creates the tables on first use (safely, across machines)."""

    def __init__(self, url: str, *, reconnect: Reconnect | None = None) -> None:
        self.url = url
        self.shown = safe_url(url)
        self.reconnect = Reconnect() if reconnect is None else reconnect
        self.write(_prepare)

    def write(self, work: Callable[[Connection], T]) -> T:
        """Run `work` in one transaction and commit it, through lost connections (see the module docstring)."""
        commit = _Commit(work)
        return self._retried(commit.run, commit)

    def read(self, work: Callable[[Connection], T]) -> T:
        """Run `work` in one read transaction, retried through lost connections."""
        def attempt(engine: Engine) -> T:
            with engine.connect() as connection, connection.begin():
                return work(connection)

        return self._retried(attempt, None)

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """One transaction, committed at the end of the block; tried once (no retry: a block cannot be rerun)."""
        with self._guarded(), postgres_engine(self.url).begin() as connection:
            yield connection

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """One read transaction, tried once."""
        with self._guarded(), postgres_engine(self.url).connect() as connection, connection.begin():
            yield connection

    def close(self) -> None:
        """Nothing to release: the engine is shared by the process's stores (`close_engines` ends it)."""

    def _retried(self, attempt: Callable[[Engine], T], commit: _Commit | None) -> T:
        try:
            for retry in self.reconnect.retrying():
                with retry:
                    return attempt(postgres_engine(self.url))
        except (SQLAlchemyError, StillCommitting) as error:
            raise self._failure(error, commit is not None and commit.in_doubt is not None) from error
        raise AssertionError("unreachable: tenacity either returns or raises")

    @contextmanager
    def _guarded(self) -> Iterator[None]:
        try:
            yield
        except SQLAlchemyError as error:
            raise self._failure(error, False) from error

    def _failure(self, error: BaseException, in_doubt: bool) -> QueueError:
        cause = cause_of(error)
        if in_doubt:
            return OutcomeUnknown(
                f"The work queue in {self.shown} was lost while committing a change and could not be reached "
                f"again within {self.reconnect.budget_s:g} s ({cause}), so whether the change was recorded is "
                "unknown: look at the item or run request before acting on it again.")
        if is_transient(error):
            return QueueError(
                f"The work queue in {self.shown} cannot be reached ({cause}); gave up after "
                f"{self.reconnect.budget_s:g} s of retries. Check that PostgreSQL is running and reachable "
                "from this machine.")
        return QueueError(f"The work queue in {self.shown} failed: {cause}.")


class _Commit:
    """One write's attempts: remembers the transaction whose COMMIT was in flight when its connection died."""

    def __init__(self, work: Callable[[Connection], Any]) -> None:
        self.work = work
        self.in_doubt: tuple[str, Any] | None = None
        """(transaction id, result) of the attempt whose COMMIT may or may not have happened."""

    def run(self, engine: Engine) -> Any:
        """Settle an earlier attempt left in doubt, else run the work and commit it."""
        if self.in_doubt is not None:
            xid, result = self.in_doubt
            if _committed(engine, xid):
                return result
            self.in_doubt = None
        with engine.connect() as connection, connection.begin() as transaction:
            connection.execute(_SESSION_GUARD)
            result = self.work(connection)
            xid = connection.execute(_TRANSACTION_ID).scalar()  # None: nothing was written
            self.in_doubt = None if xid is None else (xid, result)
            transaction.commit()
        self.in_doubt = None
        return result


def _committed(engine: Engine, xid: str) -> bool:
    """Whether transaction `xid` committed; `StillCommitting` while the server has not decided yet."""
    with engine.connect() as connection:
        fate = connection.execute(_FATE, {"xid": xid}).scalar()
    if fate in ("committed", "aborted"):
        return fate == "committed"
    raise StillCommitting(f"transaction {xid} is still {fate or 'unknown'} on the server")


def _prepare(connection: Connection) -> None:
    """Bring the tables to this Bastidor's schema (`prepare_tables` locks while it creates or migrates them)."""
    prepare_tables(connection, "queue")
