"""SQL statements for the `sql_query` and `sql_execute` steps: SQLAlchemy Core, bound parameters only.

Every statement is SQLAlchemy's `text()` with named parameters (`:customer`), so a value is never pasted into
the SQL. `run_query` reads at most `max_rows` rows (a longer answer is refused, not cut) inside a transaction
that is always rolled back; `run_execute` runs in a transaction that is committed when the statement succeeds
and rolled back when it fails. Each call opens its own engine without a pool and disposes of it afterwards.

A statement may run for `timeout_ms`: PostgreSQL is told through `statement_timeout`, SQLite is interrupted
by a progress handler; other databases rely on their own settings. Errors are `SqlClientError` with one line:
`SqlUnreachable` when no connection could be made, `SqlStatementError` when the database refused the statement.
Messages never hold the URL's password (`display_url`); the caller masks them further with the run's secrets.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.pool import NullPool

SQLITE_CHECK_EVERY = 10_000
"""SQLite virtual-machine steps between two looks at the clock while a statement runs."""


class SqlClientError(Exception):
    """A statement could not be run; `str()` is one line for the analyst (the URL's password never in it)."""


class SqlUnreachable(SqlClientError):
    """No connection could be made (wrong host, port, password, missing SQLite file, bad URL)."""


class SqlStatementError(SqlClientError):
    """The database refused or stopped the statement (wrong SQL, a constraint, the timeout)."""


class TooManyRows(SqlClientError):
    """The query answered more rows than its cap allows."""


class CommitInDoubt(SqlClientError):
    """The connection broke while a change was being committed: it may or may not have been saved."""


@dataclass
class QueryResult:
    """What a query answered: its column names, rows as records, and how long it took."""

    columns: list[str]
    rows: list[dict[str, Any]]
    elapsed_ms: float


@dataclass
class ExecuteResult:
    """What a statement changed: the rows affected (None when the database does not say) and the time taken."""

    rows_affected: int | None
    elapsed_ms: float
    notes: list[str] = field(default_factory=list)


def display_url(url: str) -> str:
    """`url` with its password hidden (`***`), for messages and records; unreadable URLs become their scheme."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split(":", 1)[0] + ":..." if ":" in url else "(not a database URL)"


def url_password(url: str) -> str | None:
    """The password written in `url`, if any, so the caller can mask it wherever it might show."""
    try:
        return make_url(url).password
    except ArgumentError:
        return None


def run_query(url: str, sql: str, params: dict[str, Any], *, timeout_ms: int, max_rows: int) -> QueryResult:
    """Run a query and return its rows; more than `max_rows` rows raise TooManyRows. Nothing is committed."""
    _refuse_changes(sql)
    engine = _engine(url, timeout_ms)
    try:
        with _connect(engine) as connection:
            started = time.monotonic()
            _read_only(connection)
            result = _execute(connection, sql, params, timeout_ms)
            if not result.returns_rows:
                raise SqlStatementError("the statement returned no rows: sql_query is for SELECT; use sql_execute "
                                        "for statements that change data")
            columns = list(result.keys())
            _refuse_duplicate_columns(columns)
            fetched = _fetch(result, max_rows + 1)
            elapsed = (time.monotonic() - started) * 1000
            connection.rollback()
    finally:
        engine.dispose()
    if len(fetched) > max_rows:
        raise TooManyRows(f"the query answered more than {max_rows:,} rows (max_rows); narrow it with WHERE or "
                          f"LIMIT, or raise max_rows")
    return QueryResult(columns, [dict(zip(columns, map(plain_value, row))) for row in fetched], elapsed)


def run_execute(url: str, sql: str, params: dict[str, Any], *, timeout_ms: int) -> ExecuteResult:
    """Run a statement in a transaction: committed when it succeeds, rolled back when anything fails."""
    engine = _engine(url, timeout_ms)
    try:
        with _connect(engine) as connection:
            started = time.monotonic()
            with connection.begin():
                result = _execute(connection, sql, params, timeout_ms)
                count = result.rowcount if result.rowcount is not None and result.rowcount >= 0 else None
                result.close()
            elapsed = (time.monotonic() - started) * 1000
    except DBAPIError as error:  # the commit itself failed
        if error.connection_invalidated or isinstance(error, OperationalError):
            raise CommitInDoubt(f"the connection broke while the change was being committed, so it may or may "
                                f"not have been saved ({_first_line(error)}); check the data before running the "
                                f"step again") from None
        raise SqlStatementError(f"the database refused the change: {_first_line(error)}") from None
    except SQLAlchemyError as error:
        raise SqlStatementError(f"the database refused the change: {_first_line(error)}") from None
    finally:
        engine.dispose()
    return ExecuteResult(count, elapsed)


def _engine(url: str, timeout_ms: int) -> Engine:
    """An engine without a pool for `url`, with the connect and statement timeouts its driver understands."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise SqlUnreachable("the URL is not a database URL (expected e.g. postgresql+psycopg://user:password@"
                             "host/db or sqlite:////path/file.db)") from None
    backend = parsed.get_backend_name()
    connect_args: dict[str, Any] = {}
    if backend == "postgresql":
        connect_args = {"connect_timeout": max(1, math.ceil(min(timeout_ms, 30_000) / 1000)),
                        "options": f"-c statement_timeout={int(timeout_ms)}"}
    elif backend == "sqlite":
        _require_sqlite_file(parsed.database)
        connect_args = {"timeout": timeout_ms / 1000}
    try:
        return create_engine(parsed, poolclass=NullPool, connect_args=connect_args)
    except (ArgumentError, ImportError, SQLAlchemyError) as error:
        raise SqlUnreachable(f"no driver for {backend}: {_first_line(error)}") from None


def _require_sqlite_file(database: str | None) -> None:
    """Refuse a SQLite URL whose file is missing: SQLite would quietly create an empty database there."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    if not Path(database).is_file():
        raise SqlUnreachable(f"the SQLite file {database} does not exist")


def _connect(engine: Engine) -> Connection:
    """A connection, or SqlUnreachable with the driver's reason."""
    try:
        return engine.connect()
    except (DBAPIError, SQLAlchemyError) as error:
        raise SqlUnreachable(_first_line(error)) from None


def _execute(connection: Connection, sql: str, params: dict[str, Any], timeout_ms: int) -> Any:
    """Execute `sql` with bound `params` on `connection`, turning a refusal into SqlStatementError."""
    sqlite = connection.dialect.name == "sqlite"
    values = {name: bind_value(value, sqlite=sqlite) for name, value in params.items()}
    if sqlite:
        _sqlite_deadline(connection, timeout_ms)
    try:
        return connection.execute(text(sql), values)
    except DBAPIError as error:
        raise SqlStatementError(_statement_problem(error, timeout_ms)) from None
    except SQLAlchemyError as error:
        raise SqlStatementError(_first_line(error)) from None


_CHANGING_WORDS = re.compile(r"\b(INSERT|UPDATE|DELETE|MERGE|UPSERT|REPLACE|RETURNING|CREATE|DROP|ALTER|TRUNCATE|"
                             r"GRANT|REVOKE)\b", re.IGNORECASE)


def _refuse_changes(sql: str) -> None:
    """sql_query only reads: a statement that changes data would be rolled back at the step's end, so rows it
    returned (INSERT ... RETURNING) would name rows that were never kept. Refused before it is sent when its
    first word (or, after WITH, any word) says it changes data; the read-only transaction catches the rest."""
    words = re.sub(r"--[^\n]*|/\*.*?\*/", " ", sql, flags=re.DOTALL).replace("(", " ").split()
    first = words[0].upper() if words else ""
    looked_at = " ".join(words) if first == "WITH" or "RETURNING" in sql.upper() else first
    changing = _CHANGING_WORDS.search(looked_at)
    if changing:
        raise SqlStatementError(f"sql_query only reads data ({changing.group(1).upper()} changes it, and sql_query "
                                f"never keeps a change): use sql_execute for it")


def _read_only(connection: Connection) -> None:
    """Make the query's transaction read-only where the database can (a second guard behind `_refuse_changes`)."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET TRANSACTION READ ONLY")
    elif connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA query_only = ON")


def _sqlite_deadline(connection: Connection, timeout_ms: int) -> None:
    """Interrupt a SQLite statement still running `timeout_ms` from now."""
    deadline = time.monotonic() + timeout_ms / 1000
    raw = connection.connection.dbapi_connection
    raw.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, SQLITE_CHECK_EVERY)


def _fetch(result: Any, limit: int) -> list[Any]:
    """Up to `limit` rows of `result`, a statement error while fetching turned into SqlStatementError."""
    try:
        return result.fetchmany(limit)
    except DBAPIError as error:
        raise SqlStatementError(_first_line(error)) from None


def _refuse_duplicate_columns(columns: list[str]) -> None:
    """Rows become records keyed by column name, so two columns of one name would lose a value."""
    seen: set[str] = set()
    for name in columns:
        if name in seen:
            raise SqlStatementError(f"the query answers two columns called '{name}'; name them apart with AS, "
                                    f"e.g. SELECT a.{name} AS a_{name}, b.{name} AS b_{name}")
        seen.add(name)


def _statement_problem(error: DBAPIError, timeout_ms: int) -> str:
    """One line for a statement the database refused: its own message, or the timeout in words."""
    message = _first_line(error)
    lowered = message.lower()
    if "statement timeout" in lowered or lowered == "interrupted":
        return (f"the statement ran longer than its timeout of {timeout_ms / 1000:g}s and was stopped; make it "
                f"faster, or raise timeout (on the step, or on the database in the flow's header)")
    if error.connection_invalidated:
        return f"the connection was lost while the statement ran: {message}"
    return message


def _first_line(error: BaseException) -> str:
    """The database's own message in one line (SQLAlchemy's statement echo and links left out)."""
    original = getattr(error, "orig", None) or error
    lines = [line.strip() for line in str(original).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(original).__name__


def bind_value(value: Any, *, sqlite: bool = False) -> Any:
    """A flow value as the driver takes it: plain text and numbers; for SQLite, decimals and dates as the
    numbers and ISO text SQLite stores."""
    from bastidor.expr.taint import plain

    value = plain(value)
    if isinstance(value, str):
        return str.__str__(value)
    if sqlite and isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if sqlite and isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    return value


def plain_value(value: Any) -> Any:
    """A database value as flows use it: Decimal for fractions, text for ids, bytes kept, the rest as is."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, memoryview):
        return value.tobytes()
    if isinstance(value, list):
        return [plain_value(item) for item in value]
    if isinstance(value, dict):
        return {key: plain_value(item) for key, item in value.items()}
    return value
