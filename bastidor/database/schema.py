"""Which tables each store owns, and making sure they exist, at this Bastidor's schema version, before a store
uses them.

A *component* is a set of tables that live together: in their own SQLite file in the home folder
(`queue.db`, `runs.db`, `console.db`, `notifications.db`), or side by side in the shared PostgreSQL
database. `prepare_tables(bind, component)` is called by every store when it opens.

Schema versions. Each component has its own Alembic history (`bastidor/database/migrations/versions/
<component>/`, one line of revisions from a base) and its own version table, `alembic_version_<component>`,
holding the one revision its tables are at. One version table per component, rather than one shared
`alembic_version` with a row per branch, because a component's version is then one SELECT from a table
named after it, and a revision written by a newer Bastidor, which this one cannot know, still says whose
it is: "ahead" is told about that component alone, and the others keep working.

`prepare_tables(bind, component)` reads the version (one SELECT, without importing Alembic) and:
- at head: does nothing more;
- no version yet (a new database, or a SQLite file from a Bastidor before schema versions): brings it to head
  on both backends; the base revisions create only what is missing, so an older file is adopted as it is;
- behind: upgrades a SQLite file (it belongs to this machine); a shared PostgreSQL database is left alone,
  since other machines may still run the older Bastidor, with an error naming `runner.py db upgrade
  --database URL` (which `serve` and `dashboard` run themselves when they start); `upgrade=True` upgrades;
- ahead (a newer Bastidor migrated it): refuses on both backends, naming both versions.
Upgrades hold a lock while they read the version again and migrate (SQLite's write lock; on PostgreSQL an
advisory transaction lock), so processes opening a new database at the same moment create it once.

Adding a table or a component:
1. Define the table on the `metadata` of a module listed in COMPONENTS, or add its module to a component.
   A new component is a new entry in COMPONENTS; to live in a SQLite file of its own in the home folder it
   also needs a property of the same name on `bastidor.database.places.Places` (without one it exists
   only in the shared PostgreSQL database).
2. Run ``python -m bastidor.database.migrations.new "add the services table"``: it writes a revision for each
   component whose tables differ from its head (a base revision for a new component). Read it, tidy it.
3. `tests/test_migrations.py` fails while a component's tables differ from what its revisions create.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, MetaData, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from bastidor.database.migrations.history import head, revisions

COMPONENTS: dict[str, tuple[str, ...]] = {
    "queue": ("bastidor.queue.schema", "bastidor.service.pauses", "bastidor.service.registry"),
    "runs": ("bastidor.store.schema",),
    "console": ("bastidor.console.users", "bastidor.console.sessions", "bastidor.console.data.exceptions",
                "bastidor.console.data.flow_versions", "bastidor.console.tokens"),
    "notifications": ("bastidor.notify.sentlog",),
    "shared": ("bastidor.audit.tables",),  # audit records and evidence: only in a shared PostgreSQL database
}
"""Each component and the modules whose `metadata` holds its tables."""

VERSION_TABLE_PREFIX = "alembic_version_"


class SchemaVersionError(SQLAlchemyError):
    """A database's schema version is not the one this Bastidor needs; the message says what to do.

    A `SQLAlchemyError`, so every store already reports it as its own one-line error."""


@dataclass(frozen=True)
class SchemaChange:
    """What `prepare_tables` did to one component: the revision before (None: no version) and after."""

    component: str
    before: str | None
    after: str

    @property
    def changed(self) -> bool:
        """Whether the tables were migrated."""
        return self.before != self.after


def component_metadata(component: str) -> list[MetaData]:
    """The `MetaData` of every module of `component`."""
    return [importlib.import_module(name).metadata for name in COMPONENTS[component]]


def version_table(component: str) -> str:
    """The table holding `component`'s schema revision."""
    return VERSION_TABLE_PREFIX + component


def head_revision(component: str) -> str:
    """The revision this Bastidor's `component` tables are at."""
    newest = head(component)
    if newest is None:
        raise SchemaVersionError(f"the {component} tables have no revisions: run `python -m "
                                 f"bastidor.database.migrations.new 'create the {component} tables'`")
    return newest


def prepare_tables(bind: Any, component: str, *, upgrade: bool | None = None) -> SchemaChange:
    """Make sure `component`'s tables are at this Bastidor's head revision on `bind`, an engine or a
    connection (used inside its transaction). `upgrade` None: SQLite files are upgraded, a behind PostgreSQL
    database is an error; True upgrades either. Raises `SchemaVersionError` saying what to run."""
    target = head_revision(component)
    if isinstance(bind, Connection):
        return _prepare_on_connection(bind, component, target, upgrade)
    with bind.connect() as connection:
        current = read_version(connection, component)
    if current == target:
        return SchemaChange(component, current, target)
    check_version(bind.url, component, current, upgrade)
    from bastidor.database.migrations.apply import locked_transaction

    with locked_transaction(bind) as connection:
        return _migrate(connection, component, upgrade)


def read_version(connection: Connection, component: str) -> str | None:
    """`component`'s revision on `connection` (one SELECT), None when it has no version table or row."""
    query = text(f"SELECT version_num FROM {version_table(component)}")
    try:
        if connection.dialect.name == "postgresql" and connection.in_transaction():
            with connection.begin_nested():  # a missing table must not abort the caller's transaction
                found = connection.execute(query).scalars().all()
        else:
            found = connection.execute(query).scalars().all()
    except DBAPIError as error:
        if _no_such_table(error):
            return None
        raise
    if len(found) > 1:
        raise SchemaVersionError(f"{describe(connection.engine.url)} holds {len(found)} versions for the "
                                 f"{component} tables ({', '.join(found)}) in {version_table(component)}: "
                                 "keep the one its tables are at and delete the others")
    return found[0] if found else None


def check_version(url: URL, component: str, current: str | None, upgrade: bool | None) -> None:
    """Raise `SchemaVersionError` when `component`'s `current` revision must not be upgraded here:
    unknown to this Bastidor (ahead), or behind on PostgreSQL unless `upgrade` is True."""
    target = head_revision(component)
    where = describe(url)
    if current is not None and current not in revisions(component):
        raise SchemaVersionError(
            f"the database at {where} has schema {current} for component {component}, newer than this "
            f"Bastidor, which needs {target}: a newer Bastidor has migrated it. Upgrade this machine's "
            "Bastidor to the version the other machines run")
    embedded = url.get_backend_name() == "sqlite"
    if current is not None and not (embedded if upgrade is None else upgrade):
        shown_password = url.password is not None  # shown as ***: a command with it would not connect
        option = (f"--home {_home_of(url)}" if embedded
                  else "with $BASTIDOR_DATABASE_URL set" if shown_password else f"--database {where}")
        raise SchemaVersionError(
            f"the database at {where} has schema {current} for component {component}, this Bastidor needs "
            f"{target}: run `runner.py db upgrade {option}` (or start `serve`, which upgrades it)")


def describe(url: URL) -> str:
    """Where a database is, for messages: a SQLite file's path, else the URL without its password."""
    if url.get_backend_name() == "sqlite":
        return url.database or ":memory:"
    return url.render_as_string(hide_password=True)


def _prepare_on_connection(connection: Connection, component: str, target: str,
                           upgrade: bool | None) -> SchemaChange:
    if not connection.in_transaction():
        with connection.begin():
            return _prepare_on_connection(connection, component, target, upgrade)
    current = read_version(connection, component)
    if current == target:
        return SchemaChange(component, current, target)
    check_version(connection.engine.url, component, current, upgrade)
    return _migrate(connection, component, upgrade)


def _migrate(connection: Connection, component: str, upgrade: bool | None) -> SchemaChange:
    """Under the schema lock, read the version again (another process may have migrated meanwhile) and
    upgrade to head."""
    from bastidor.database.migrations.apply import lock_schema, run_upgrade

    lock_schema(connection)
    current = read_version(connection, component)
    target = head_revision(component)
    if current != target:
        check_version(connection.engine.url, component, current, upgrade)
        run_upgrade(connection, component)
    return SchemaChange(component, current, target)


def _no_such_table(error: DBAPIError) -> bool:
    original = error.orig
    return getattr(original, "sqlstate", None) == "42P01" or "no such table" in str(original)


def _home_of(url: URL) -> str:
    from pathlib import Path

    return str(Path(url.database or ".").resolve().parent)
