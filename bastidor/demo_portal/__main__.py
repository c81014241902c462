"""Run the demo portal in the foreground: ``python -m bastidor.demo_portal --port 8765``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from bastidor.demo_portal.app import create_app
from bastidor.demo_portal.server import PortalStartError, bind_socket, build_server, url_for_socket
from bastidor.demo_portal.settings import PortalSettings

PASSWORD_ENV = "BASTIDOR_PORTAL_PASSWORD"
API_TOKEN_ENV = "BASTIDOR_PORTAL_API_TOKEN"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(prog="python -m bastidor.demo_portal", description="Run the demo back office.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port to listen on; 0 picks a free one")
    parser.add_argument("--db", type=Path, default=None, help="SQLite file; in memory when omitted")
    parser.add_argument("--delay-ms", type=int, default=0, help="random delay of 0..N ms on every request")
    parser.add_argument("--failure-rate", type=float, default=0.0, help="probability (0..1) of a 503 on forms")
    parser.add_argument("--seed", type=int, default=None, help="seed for reproducible chaos and shuffles")
    parser.add_argument("--username", default="analyst")
    parser.add_argument("--password", default=None, help=f"sign-in password (or set {PASSWORD_ENV})")
    parser.add_argument("--api-token", default=None,
                        help=f"bearer token of the invoices JSON API (or set {API_TOKEN_ENV}); closed without one")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Serve until Ctrl+C; return the exit code."""
    args = parse_args(argv)
    password = args.password or os.environ.get(PASSWORD_ENV, "")
    if not password:
        print(f"No password given: pass --password or set the {PASSWORD_ENV} environment variable.", file=sys.stderr)
        return 2
    try:
        settings = PortalSettings(
            password=password, db_path=args.db, username=args.username, delay_ms_max=args.delay_ms,
            failure_rate=args.failure_rate, seed=args.seed,
            api_token=args.api_token or os.environ.get(API_TOKEN_ENV) or None,
        )
        sock = bind_socket(args.host, args.port)
    except (ValueError, PortalStartError) as error:
        print(error, file=sys.stderr)
        return 2
    print(f"Demo portal running at {url_for_socket(sock)} (username: {settings.username}). Press Ctrl+C to stop.",
          flush=True)
    build_server(create_app(settings)).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
