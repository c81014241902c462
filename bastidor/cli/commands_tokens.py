"""`tokens add/list/revoke` manage the REST API's tokens (see `bastidor.console.tokens` and docs/api.md).

`tokens add NAME --role operator` prints the new token once, on standard output and alone on its line, so a
script can capture it; only its hash is kept. `tokens list` never shows a token. Every change is recorded in
the console audit log (home/audit/console.jsonl) with the operating-system user who made it, inside the
change: a token whose record cannot be written is not made (or not revoked).
"""

from __future__ import annotations

import sys

from bastidor.audit import AuditWriteError
from bastidor.cli.common import (
    database_errors_in_one_line,
    error_out,
    home_dir,
    os_user,
)
from bastidor.console.roles import ROLE_DESCRIPTIONS, ROLES
from bastidor.database.places import places_for


def register(commands) -> None:
    """Add the `tokens` command and its sub-commands."""
    tokens = commands.add_parser("tokens", help="manage the REST API's tokens (for other systems)")
    sub = tokens.add_subparsers(dest="tokens_command", metavar="add|list|revoke")
    sub.required = True
    roles_help = "; ".join(f"{role}: {text}" for role, text in ROLE_DESCRIPTIONS.items())
    add = sub.add_parser("add", help="make a token; it is printed once, copy it then")
    add.add_argument("name", help="what the token is for, e.g. erp-orders")
    add.add_argument("--role", required=True, choices=ROLES, help=roles_help)
    add.set_defaults(handler=add_command)
    sub.add_parser("list", help="list the tokens: name, role, created, last used (never the token)"
                   ).set_defaults(handler=list_command)
    revoke = sub.add_parser("revoke", help="revoke a token: it stops working at once")
    revoke.add_argument("name")
    revoke.set_defaults(handler=revoke_command)


@database_errors_in_one_line
def add_command(args) -> int:
    """Make a token and print it once."""
    from bastidor.console.tokens import TokenError

    tokens, audit = _open(args)
    user = os_user()
    record = lambda: audit.record(user, "token.add", name=args.name, role=args.role,
                                  via="command line")
    try:
        _token, secret = tokens.add(args.name, args.role, created_by=user, then=record)
    except TokenError as error:
        error_out(str(error))
        return 2
    except (AuditWriteError, OSError) as error:
        error_out(f"not done: the audit log could not be written ({error})")
        return 3
    print(f"token {args.name} ({args.role}) made. Copy it now: it is shown only this once.", file=sys.stderr)
    print(secret)
    print("Send it as the header `Authorization: Bearer <token>` (see docs/api.md).", file=sys.stderr)
    return 0


@database_errors_in_one_line
def list_command(args) -> int:
    """Print the tokens: name, role, created, last used."""
    tokens, _ = _open(args)
    listed = tokens.list()
    if not listed:
        print("no API tokens yet: make one with `runner.py tokens add NAME --role operator`")
        return 0
    width = max(4, *(len(token.name) for token in listed))
    print(f"{'NAME':<{width}}  {'ROLE':<8}  {'CREATED (UTC)':<16}  LAST USED (UTC)")
    for token in listed:
        used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
        print(f"{token.name:<{width}}  {token.role:<8}  {token.created_at:%Y-%m-%d %H:%M}  {used}")
    return 0


@database_errors_in_one_line
def revoke_command(args) -> int:
    """Revoke a token; calls with it are refused from now on."""
    from bastidor.console.tokens import TokenError

    tokens, audit = _open(args)
    record = lambda: audit.record(os_user(), "token.revoke", name=args.name, via="command line")
    try:
        tokens.revoke(args.name, then=record)
    except TokenError as error:
        error_out(str(error))
        return 2
    except (AuditWriteError, OSError) as error:
        error_out(f"not done: the audit log could not be written ({error})")
        return 3
    print(f"revoked {args.name}: calls with it are refused from now on")
    return 0


def _open(args):
    from bastidor.console.console_audit import ConsoleAudit, console_audit_path
    from bastidor.console.db import open_console_db
    from bastidor.console.tokens import TokenStore

    home = home_dir(args)
    return TokenStore(open_console_db(places_for(home).console)), ConsoleAudit(console_audit_path(home))
