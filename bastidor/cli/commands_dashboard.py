"""`dashboard` serves the supervisor console (runs, items, exceptions, flows, schedules, KPIs) with uvicorn.

It binds 127.0.0.1 unless told otherwise, and needs at least one user (`users add NAME --role admin`).
"""

from __future__ import annotations

import ipaddress
import sys

from bastidor.cli.common import error_out, home_dir

DEFAULT_PORT = 8780


def register(commands) -> None:
    """Add the `dashboard` command."""
    dashboard = commands.add_parser("dashboard", help="serve the supervisor console on 127.0.0.1")
    dashboard.add_argument("--host", default="127.0.0.1",
                           help="address to listen on (default 127.0.0.1: this machine only)")
    dashboard.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    dashboard.add_argument("--flows", default="flows", help="folder of flows (default: flows/)")
    dashboard.add_argument("--schedules", default="schedules.yaml", help="schedules file (default: schedules.yaml)")
    dashboard.add_argument("--https-only", action="store_true",
                           help="send the session cookie over HTTPS only (behind a TLS proxy)")
    dashboard.set_defaults(handler=dashboard_command)


def dashboard_command(args) -> int:
    """Serve the console until Ctrl-C."""
    from bastidor.cli.commands_db import upgrade_before_start
    from bastidor.console.app import ConsoleSettings, create_app
    from bastidor.console.context import open_context
    from bastidor.console.keys import ConsoleKeyError, load_or_create_secret_key
    from bastidor.demo_portal.server import PortalStartError, bind_socket, build_server, url_for_socket
    from bastidor.queue import QueueError
    from bastidor.store import StoreError

    home = home_dir(args)
    if not upgrade_before_start(home):  # the shared database may be behind this Bastidor
        return 2
    try:
        context = open_context(home, args.flows, args.schedules)
        settings = ConsoleSettings(secret_key=load_or_create_secret_key(context.home), https_only=args.https_only)
        sock = bind_socket(args.host, args.port)
        sock.listen(128)  # connections wait for the server instead of being refused while it starts
    except (ConsoleKeyError, PortalStartError, StoreError, QueueError) as error:
        error_out(str(error))
        return 2
    except OSError as error:
        error_out(f"cannot use the home folder {home}: {error.strerror or error}. Check that it exists and that "
                  "you may write to it, or pass another with --home")
        return 2
    _print_start(context, args.host, url_for_socket(sock))
    try:
        build_server(create_app(context, settings)).run(sockets=[sock])
    finally:
        sock.close()
        context.close()
    return 0


def _print_start(context, host: str, url: str) -> None:
    print(f"Bastidor console at {url}  (home {context.home}; Ctrl-C stops it)")
    if context.users.count() == 0:
        print("No user can sign in yet. Add the first admin (you will be asked for a password), then reload:\n"
              f"  python runner.py --home {context.home} users add NAME --role admin")
    if not _is_loopback(host):
        print(f"warning: listening on {host}: other machines can reach the console. Put it behind HTTPS "
              "(a TLS proxy) and start it with --https-only.", file=sys.stderr)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
