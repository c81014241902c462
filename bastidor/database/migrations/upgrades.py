"""Every component of one home folder or shared database at once: where each lives, its schema status, and
bringing all of them to head (`runner.py db status` and `db upgrade`, and `serve` and `dashboard` at start).

Embedded, each component is a SQLite file of the home folder named by the `Places` property of the same
name; a file that does not exist yet is left alone (it is made at head when first opened). With a shared
database every component lives in it. A component without a `Places` property exists only there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import NullPool

from bastidor.database.places import Places, is_postgres
from bastidor.database.migrations.history import revisions
from bastidor.database.schema import COMPONENTS, SchemaChange, describe, head_revision, prepare_tables, read_version


@dataclass(frozen=True)
class ComponentStatus:
    """One component's schema: where it is, the revision it is at (None: none yet) and this Bastidor's."""

    component: str
    where: str
    current: str | None
    head: str
    exists: bool = True

    @property
    def state(self) -> str:
        """``up to date``, ``behind``, ``ahead``, or ``new`` (no tables or no version yet)."""
        if self.current == self.head:
            return "up to date"
        if self.current is None:
            return "new"
        return "behind" if self.current in revisions(self.component) else "ahead"


def locations(places: Places) -> dict[str, str | Path]:
    """Where each component lives under `places` (components that exist only in a shared database are
    left out when there is none)."""
    found = {component: places.url or getattr(places, component, None) for component in COMPONENTS}
    return {component: where for component, where in found.items() if isinstance(where, (str, Path))}


def schema_status(places: Places) -> list[ComponentStatus]:
    """Each component's schema status, read without changing anything."""
    statuses = []
    for component, location in locations(places).items():
        if _missing_file(location):
            statuses.append(ComponentStatus(component, str(location), None, head_revision(component), False))
            continue
        with _engine(location) as engine, engine.connect() as connection:
            current = read_version(connection, component)
        statuses.append(ComponentStatus(component, describe(engine.url), current, head_revision(component)))
    return statuses


def upgrade_all(places: Places) -> list[SchemaChange]:
    """Bring every component that exists under `places` to head; what changed for each. Raises
    `SchemaVersionError` for a component ahead of this Bastidor."""
    changes = []
    for component, location in locations(places).items():
        if not _missing_file(location):
            with _engine(location) as engine:
                changes.append(prepare_tables(engine, component, upgrade=True))
    return changes


def _missing_file(location: str | Path) -> bool:
    text = str(location)
    if text.startswith("sqlite:///"):
        text = text.removeprefix("sqlite:///")
    elif "://" in text:
        return False
    return not Path(text).expanduser().exists()


@contextmanager
def _engine(location: str | Path) -> Iterator[Engine]:
    """An engine on `location`: the process's shared one for PostgreSQL, else a throwaway one."""
    text = str(location)
    if is_postgres(text):
        from bastidor.database.engines import postgres_engine
        from bastidor.database.places import normalized_url

        yield postgres_engine(normalized_url(text))
        return
    engine = create_engine(text if "://" in text else f"sqlite:///{Path(text).expanduser().resolve()}",
                           poolclass=NullPool)
    try:
        yield engine
    finally:
        engine.dispose()
