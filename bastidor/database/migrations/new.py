"""Write the revisions for changed tables: ``python -m bastidor.database.migrations.new "add the services table"``.

For each component (or those named with ``--component``) a scratch database is brought to the component's
head, Alembic's autogenerate compares it with the models, and when they differ a revision is written to
``versions/<component>/`` (a base revision for a component that has none yet). Revision ids are the
component's name and a number, ``queue_0002``. The scratch database is a temporary SQLite file, or, with
``--database URL``, an empty PostgreSQL database of your own (it is brought to head: never a live one).
Read each revision written, tidy it (names, a data migration if one is needed), and run the tests.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from bastidor.database.migrations.history import revisions, versions_folder


def main(argv: list[str] | None = None) -> int:
    """Write a revision for every changed component; prints each file written. Returns the exit code."""
    from bastidor.database.schema import COMPONENTS

    parser = argparse.ArgumentParser(prog="python -m bastidor.database.migrations.new", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("message", help="what the revision does, e.g. 'add the services table'")
    parser.add_argument("--component", action="append", choices=sorted(COMPONENTS),
                        help="only this component (repeatable; default: every component)")
    parser.add_argument("--database", metavar="URL", help="an empty scratch PostgreSQL database to compare on "
                        "(default: a temporary SQLite file)")
    args = parser.parse_args(argv)
    for component in args.component or list(COMPONENTS):
        written = write_revision(component, args.message, args.database)
        print(f"{component}: {written}" if written else f"{component}: no changes")
    return 0


def write_revision(component: str, message: str, url: str | None = None) -> Path | None:
    """Write `component`'s next revision when its models differ from its head; the file, or None."""
    with tempfile.TemporaryDirectory(prefix="bastidor-revision-") as scratch:
        engine = create_engine(url or f"sqlite:///{Path(scratch) / 'scratch.db'}", poolclass=NullPool)
        try:
            return _compare_and_write(engine, component, message)
        finally:
            engine.dispose()


def next_revision_id(component: str) -> str:
    """The id the next revision of `component` gets: ``<component>_<number>``."""
    return f"{component}_{len(revisions(component)) + 1:04d}"


def _compare_and_write(engine, component: str, message: str) -> Path | None:
    from alembic import command

    from bastidor.database.migrations.apply import alembic_config
    from bastidor.database.migrations.compare import differences
    from bastidor.database.schema import prepare_tables

    if revisions(component):
        prepare_tables(engine, component, upgrade=True)
    versions_folder(component).mkdir(parents=True, exist_ok=True)
    with engine.begin() as connection:
        if revisions(component) and not differences(connection, component):
            return None
        script = command.revision(alembic_config(connection, component), message=message, autogenerate=True,
                                  rev_id=next_revision_id(component))
    revisions.cache_clear()
    return Path(script.path)


if __name__ == "__main__":
    sys.exit(main())
