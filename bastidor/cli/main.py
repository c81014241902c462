"""The `bastidor` command (also `python runner.py`): parses arguments and dispatches to commands.

Each command lives in its own module. Only the module of the command being run is imported, unless the
command is unknown or help is asked for, when every command is listed; command modules import what their
work needs inside their handlers, so listing them stays quick (see bench/startup_bench.py).

`--home DIR` and `--database URL` may be written before or after the command (`runs list --home DIR`).
While a command runs, `$BASTIDOR_HOME` and `$BASTIDOR_DATABASE_URL` are set to them, so everything that finds
its files in the home folder (the secrets file too) or its tables in the shared database, the service's bot
processes included, uses the same ones.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

HOME_HELP = "folder for runs, the run store, the work queue and secrets.env (default: $BASTIDOR_HOME or .bastidor)"
DATABASE_HELP = ("shared PostgreSQL database for the queue, runs, users, audit records and evidence, e.g. "
                 "postgresql+psycopg://bastidor@db-host/bastidor (default: $BASTIDOR_DATABASE_URL, else the home "
                 "folder's SQLite files)")
SETTINGS = {"home": "BASTIDOR_HOME", "database": "BASTIDOR_DATABASE_URL"}
"""Options every command takes, before or after its name, and the variable each is handed on in."""

COMMAND_MODULES = {
    "run": "bastidor.cli.commands_run",
    "validate": "bastidor.cli.commands_validate",
    "schema": "bastidor.cli.commands_validate",
    "describe": "bastidor.cli.commands_describe",
    "runs": "bastidor.cli.commands_runs",
    "report": "bastidor.cli.commands_runs",
    "audit": "bastidor.cli.commands_audit",
    "demo": "bastidor.cli.commands_demo",
    "portal": "bastidor.cli.commands_demo",
    "schedules": "bastidor.cli.commands_schedules",
    "serve": "bastidor.cli.commands_service",
    "trigger": "bastidor.cli.commands_service",
    "items": "bastidor.cli.commands_items",
    "dashboard": "bastidor.cli.commands_dashboard",
    "users": "bastidor.cli.commands_users",
    "tokens": "bastidor.cli.commands_tokens",
    "notifications": "bastidor.notify.__main__",
    "db": "bastidor.cli.commands_db",
}
"""Which module registers each command, in the order `--help` lists them."""


class CommandParser(argparse.ArgumentParser):
    """An argument parser whose sub-commands, at every level, also accept `--home DIR` and `--database URL`."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.register("action", "parsers", _SubcommandsWithHome)


class _SubcommandsWithHome(argparse._SubParsersAction):
    """Sub-command parsers that take `--home` and `--database` after the command too; the last one written wins."""

    def add_parser(self, name: str, **kwargs) -> argparse.ArgumentParser:
        """Add the sub-command `name`, with the `--home` and `--database` options."""
        parser = super().add_parser(name, **kwargs)
        parser.add_argument("--home", default=argparse.SUPPRESS, help=HOME_HELP)
        parser.add_argument("--database", default=argparse.SUPPRESS, metavar="URL", help=DATABASE_HELP)
        return parser


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser with `command`'s sub-command, or with every sub-command when it is None."""
    parser = CommandParser(prog="bastidor", description="Run, validate and audit Bastidor flows.")
    parser.add_argument("--home", help=HOME_HELP)
    parser.add_argument("--database", metavar="URL", help=DATABASE_HELP)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    names = [COMMAND_MODULES[command]] if command in COMMAND_MODULES else COMMAND_MODULES.values()
    for name in dict.fromkeys(names):
        importlib.import_module(name).register(commands)
    return parser


def command_in(argv: list[str]) -> str | None:
    """The sub-command named in `argv` (skipping `--home DIR` and `--database URL`), or None when there is none."""
    words = iter(argv)
    for word in words:
        if word in ("--home", "--database"):
            next(words, None)
        elif not word.startswith("-"):
            return word
        elif word in ("-h", "--help"):
            return None
    return None


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(command_in(argv)).parse_args(argv)
    try:
        with settings_in_environment(args):
            if not database_setting_ok():
                return 2
            return args.handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


@contextmanager
def settings_in_environment(args: argparse.Namespace) -> Iterator[None]:
    """Set `$BASTIDOR_HOME` and `$BASTIDOR_DATABASE_URL` from `--home` and `--database` while the command runs
    (only those given), and put the environment back afterwards (the command line is also called in-process,
    by tests)."""
    given = {name: getattr(args, option) for option, name in SETTINGS.items() if getattr(args, option, None)}
    before = {name: os.environ.get(name) for name in given}
    os.environ.update(given)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def database_setting_ok() -> bool:
    """Whether the database setting, when there is one, is a URL Bastidor can use; says why not when not."""
    from bastidor.database.places import DatabaseSettingError, database_url

    try:
        database_url()
    except DatabaseSettingError as error:
        print(f"error: {error}", file=sys.stderr)
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
