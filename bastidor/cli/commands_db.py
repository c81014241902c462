"""`db upgrade` and `db status`: the schema versions of the queue, run store, console and notification tables.

Without `--database` they look at the home folder's SQLite files; with it (or `$BASTIDOR_DATABASE_URL`) at the
shared PostgreSQL database, where every component's version is kept. SQLite files are upgraded whenever a
store opens them, so `db upgrade` is needed by hand only for a shared database, and `serve` and `dashboard`
run it themselves when they start (`upgrade_before_start`).
"""

from __future__ import annotations

import sys

from bastidor.cli.common import error_out, home_dir


def register(commands) -> None:
    """Add the `db` command and its sub-commands."""
    db = commands.add_parser("db", help="schema versions of the database: status and upgrade")
    sub = db.add_subparsers(dest="db_command", metavar="upgrade|status")
    sub.required = True
    sub.add_parser("upgrade", help="bring every component's tables to this Bastidor's schema (prints each "
                   "component's from -> to)").set_defaults(handler=upgrade_command)
    sub.add_parser("status", help="each component's schema against this Bastidor's (exit 1 when any is "
                   "behind or ahead)").set_defaults(handler=status_command)


def upgrade_command(args) -> int:
    """Upgrade every component of the home folder's files, or of the shared database, to head."""
    from bastidor.database.places import places_for

    places = places_for(home_dir(args))
    changes = _upgrade(places)
    if changes is None:
        return 1
    print(f"schema of {places.describe()}:")
    for change in changes:
        done = f"{change.before or 'nothing'} -> {change.after}" if change.changed else f"{change.after} (up to date)"
        print(f"  {change.component:<14} {done}")
    if not changes:
        print("  no database files yet: each is made at this Bastidor's schema when first used")
    return 0


def status_command(args) -> int:
    """Print each component's schema revision beside this Bastidor's; 1 when any is behind or ahead."""
    from sqlalchemy.exc import SQLAlchemyError

    from bastidor.database.migrations.upgrades import schema_status
    from bastidor.database.places import places_for

    places = places_for(home_dir(args))
    try:
        statuses = schema_status(places)
    except SQLAlchemyError as error:
        error_out(f"cannot read the schema of {places.describe()}: {_reason(error)}")
        return 1
    print(f"schema of {places.describe()}:")
    print(f"  {'COMPONENT':<14} {'AT':<20} {'NEEDS':<20} STATE")
    for status in statuses:
        print(f"  {status.component:<14} {status.current or '-':<20} {status.head:<20} {_state_text(status, places)}")
    return 1 if any(status.state in ("behind", "ahead") for status in statuses) else 0


def upgrade_before_start(home) -> bool:
    """Bring the schema to head before `serve` or `dashboard` starts, saying what changed. False (after
    saying why) when a component is ahead of this Bastidor; a database that cannot be reached now is left
    to the stores, which retry and check the schema when they connect."""
    from sqlalchemy.exc import SQLAlchemyError

    from bastidor.database.migrations.upgrades import upgrade_all
    from bastidor.database.places import places_for
    from bastidor.database.schema import SchemaVersionError

    places = places_for(home)
    try:
        changes = upgrade_all(places)
    except SchemaVersionError as error:
        error_out(str(error))
        return False
    except SQLAlchemyError as error:
        print(f"warning: cannot check the schema of {places.describe()} now ({_reason(error)}); each store "
              "checks it when it connects", file=sys.stderr)
        return True
    for change in changes:
        if change.changed:
            print(f"schema of {change.component} upgraded: {change.before or 'nothing'} -> {change.after} "
                  f"({places.describe()})")
    return True


def _upgrade(places):
    """The changes `upgrade_all` made, or None after printing why it could not."""
    from sqlalchemy.exc import SQLAlchemyError

    from bastidor.database.migrations.upgrades import upgrade_all
    from bastidor.database.schema import SchemaVersionError

    try:
        return upgrade_all(places)
    except SchemaVersionError as error:
        error_out(str(error))
        return None
    except SQLAlchemyError as error:
        error_out(f"cannot upgrade the schema of {places.describe()}: {_reason(error)}")
        return None


def _state_text(status, places) -> str:
    if status.state == "behind":
        option = f"--database {places.describe()}" if places.shared else f"--home {places.home}"
        return f"behind: run `runner.py db upgrade {option}`"
    if status.state == "ahead":
        return "ahead: a newer Bastidor migrated it; upgrade this machine's Bastidor"
    if status.state == "new":
        if not status.exists:
            return "no file yet: made when first used"
        return "not set up yet: set up when first used, or by `db upgrade`"
    return status.state


def _reason(error) -> str:
    original = getattr(error, "orig", None)
    return str(original or error).strip().splitlines()[0]
