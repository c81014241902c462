"""`users add/list/remove/set-role/set-password` manage who may sign in to the supervisor console.

Passwords are read from standard input, never from the command line (where other users of the machine
and the shell history could see them): typed twice without echo at a terminal, else one line from a pipe.
Every change is recorded in the console audit log with the operating-system user who made it.
"""

from __future__ import annotations

import getpass
import sys

from bastidor.audit import AuditWriteError
from bastidor.cli.common import database_errors_in_one_line, error_out, home_dir, os_user
from bastidor.console.roles import ROLE_DESCRIPTIONS, ROLES
from bastidor.database.places import places_for


def register(commands) -> None:
    """Add the `users` command and its sub-commands."""
    users = commands.add_parser("users", help="manage the supervisor console's users")
    sub = users.add_subparsers(dest="users_command", metavar="add|list|remove|set-role|set-password")
    sub.required = True
    roles_help = "; ".join(f"{role}: {text}" for role, text in ROLE_DESCRIPTIONS.items())
    add = sub.add_parser("add", help="add a user (the password is read from standard input)")
    add.add_argument("name", help="the user name to sign in with")
    add.add_argument("--role", required=True, choices=ROLES, help=roles_help)
    add.set_defaults(handler=add_command)
    sub.add_parser("list", help="list the users with their role").set_defaults(handler=list_command)
    remove = sub.add_parser("remove", help="remove a user")
    remove.add_argument("name")
    remove.set_defaults(handler=remove_command)
    set_role = sub.add_parser("set-role", help="give a user another role")
    set_role.add_argument("name")
    set_role.add_argument("role", choices=ROLES)
    set_role.set_defaults(handler=set_role_command)
    set_password = sub.add_parser("set-password", help="set a new password (read from standard input)")
    set_password.add_argument("name")
    set_password.set_defaults(handler=set_password_command)


@database_errors_in_one_line
def add_command(args) -> int:
    """Add a user with the password read from standard input."""
    from bastidor.console.users import UserError, check_name

    def add(users, record) -> None:
        if users.get(check_name(args.name)) is not None:
            raise UserError(f"there is already a user named {args.name!r}: pick another name, or remove that "
                            "user first")
        users.add(args.name, args.role, read_password(f"Password for {args.name}: "), then=record)

    return _change(args, add, "user.add", f"added {args.name} ({args.role}); they can sign in to the console "
                   "(`runner.py dashboard`)", role=args.role)


@database_errors_in_one_line
def list_command(args) -> int:
    """Print the users: name, role, when added."""
    users, _ = _open(args)
    listed = users.list()
    if not listed:
        print("no users yet: add one with `runner.py users add NAME --role admin`")
        return 0
    width = max(len(user.name) for user in listed)
    print(f"{'NAME':<{width}}  {'ROLE':<8}  CREATED (UTC)")
    for user in listed:
        print(f"{user.name:<{width}}  {user.role:<8}  {user.created_at:%Y-%m-%d %H:%M}")
    return 0


@database_errors_in_one_line
def remove_command(args) -> int:
    """Remove a user (never the last admin); their open console sessions end."""
    return _change(args, lambda users, then: users.remove(args.name, then=then), "user.remove",
                   f"removed {args.name}", end_sessions=True)


@database_errors_in_one_line
def set_role_command(args) -> int:
    """Give a user another role (never leaves the console without an admin)."""
    return _change(args, lambda users, then: users.set_role(args.name, args.role, then=then), "user.set_role",
                   f"{args.name} is now {args.role}", role=args.role)


@database_errors_in_one_line
def set_password_command(args) -> int:
    """Replace a user's password with one read from standard input."""
    from bastidor.console.users import UserError

    users, _ = _open(args)
    if users.get(args.name) is None:
        error_out(f"there is no user named {args.name!r}: see `runner.py users list`")
        return 2
    try:
        password = read_password(f"New password for {args.name}: ")
    except UserError as error:
        error_out(str(error))
        return 2

    def record_then_set(store, record) -> None:  # the password store has no transaction hook: record first
        record()
        store.set_password(args.name, password)

    return _change(args, record_then_set, "user.set_password",
                   f"new password set for {args.name}; their open console sessions were ended", end_sessions=True)


def read_password(prompt: str) -> str:
    """A password from the terminal (typed twice, not echoed) or one line of standard input."""
    from bastidor.console.users import UserError, check_password

    if not sys.stdin.isatty():
        return check_password(sys.stdin.readline().rstrip("\r\n"))
    first = check_password(getpass.getpass(prompt))
    if getpass.getpass("Type it again: ") != first:
        raise UserError("the two passwords are not the same: run the command again")
    return first


def _change(args, change, action: str, done: str, end_sessions: bool = False, **fields) -> int:
    """Make `change(users, then)`; `then` writes the audit record, inside the change where the store allows,
    so a change that cannot be recorded is not made."""
    from bastidor.console.sessions import SessionRegistry
    from bastidor.console.users import UserError

    users, audit = _open(args)
    try:
        change(users, lambda: audit.record(os_user(), action, name=args.name, via="command line", **fields))
    except UserError as error:
        error_out(str(error))
        return 2
    except (AuditWriteError, OSError) as error:
        error_out(f"not done: the audit log could not be written ({error})")
        return 3
    if end_sessions:
        SessionRegistry(users.engine, max_age_s=0).end_all(args.name)
    print(done)
    return 0


def _open(args):
    from bastidor.console.console_audit import ConsoleAudit, console_audit_path
    from bastidor.console.db import open_console_db
    from bastidor.console.users import UserStore

    home = home_dir(args)
    return UserStore(open_console_db(places_for(home).console)), ConsoleAudit(console_audit_path(home))

