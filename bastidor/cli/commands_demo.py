"""`demo` runs the bundled order-entry flow against the bundled portal; `portal` serves the portal."""

from __future__ import annotations

import secrets as token
import sys
import time
from pathlib import Path
from typing import Any

from bastidor.cli.common import error_out, home_dir
from bastidor.flow.diagnostics import FlowValidationError

DEMO_FLOW = Path(__file__).resolve().parents[2] / "flows" / "order_entry.yaml"


def register(commands) -> None:
    """Add the `demo` and `portal` commands."""
    demo = commands.add_parser("demo", help="start the demo portal and run the order-entry flow on it")
    demo.add_argument("--flow", default=str(DEMO_FLOW), help="flow to run (default: flows/order_entry.yaml)")
    demo.add_argument("--headed", action="store_true", help="show the browser window")
    demo.add_argument("--input", "-i", action="append", default=[], metavar="NAME=VALUE")
    demo.add_argument("--port", type=int, default=0, help="serve the portal on this port (default: a free one)")
    demo.set_defaults(handler=run_demo)
    portal = commands.add_parser("portal", help="serve the demo back-office portal on 127.0.0.1")
    portal.add_argument("--port", type=int, default=8765)
    portal.add_argument("--delay-ms", type=int, default=0, help="random delay up to this on each request")
    portal.add_argument("--failure-rate", type=float, default=0.0, help="share of requests that fail (0-1)")
    portal.set_defaults(handler=run_portal)


def run_demo(args) -> int:
    """Start the portal with a fresh password, run the flow against it, print the summary."""
    from bastidor.demo_portal import PortalSettings, PortalStartError, start_portal

    flow = _demo_flow(args.flow)
    if flow is None:
        return 2
    home = home_dir(args)
    home.mkdir(parents=True, exist_ok=True)
    settings = PortalSettings(db_path=home / "demo-portal.db", password=token.token_urlsafe(12))
    try:
        portal = start_portal(settings, port=args.port)
    except PortalStartError as error:
        error_out(str(error))
        return 2
    with portal:
        print(f"demo portal running at {portal.url} (user {settings.username}) until the run ends", flush=True)
        result = _run_against(flow, args, portal.url, settings)
        print(f"orders in the portal: {portal.url}/orders (stopped when this command ends)")
    # Failed items are part of the demo (one order is out of stock); only a broken run fails it.
    if not isinstance(result, int) and result.status == "failed" and result.error is None:
        return 0
    from bastidor.cli.commands_run import exit_code

    return exit_code(result)


def _demo_flow(path: str) -> Any:
    """The demo's flow, loaded; None after saying why it cannot be (not there, or not valid)."""
    from bastidor.flow.loader import load_flow

    if not Path(path).is_file():
        print(f"error: the demo flow {path} is not here; the demo ships with the source checkout: "
              "run this from the repository folder, or pass --flow", file=sys.stderr)
        return None
    try:
        return load_flow(path)
    except FlowValidationError as error:
        print(error, file=sys.stderr)
        return None


def _run_against(flow: Any, args: Any, url: str, settings: Any) -> Any:
    """Run the flow against the portal at `url`, signed in with the portal's own user and password."""
    from bastidor.cli.commands_run import execute_and_report
    from bastidor.executor.inputs import InputError, parse_assignments
    from bastidor.executor.progress import ConsoleProgress
    from bastidor.executor.run import RunOptions
    from bastidor.secrets import default_secrets

    try:
        inputs = parse_assignments(args.input)
    except InputError as error:
        error_out(str(error))
        return 2
    options = RunOptions(home=home_dir(args), inputs=inputs, headed=args.headed, base_url=url,
                         progress=ConsoleProgress(),
                         secrets=default_secrets(extra={"PORTAL_USER": settings.username,
                                                        "PORTAL_PASSWORD": settings.password}))
    return execute_and_report(flow, options)


def run_portal(args) -> int:
    """Serve the demo portal until interrupted."""
    from bastidor.demo_portal import PortalSettings, PortalStartError, start_portal

    password = token.token_urlsafe(12)
    home_dir(args).mkdir(parents=True, exist_ok=True)
    try:
        settings = PortalSettings(db_path=home_dir(args) / "demo-portal.db", password=password,
                                  delay_ms_max=args.delay_ms, failure_rate=args.failure_rate)
        portal = start_portal(settings, port=args.port)
    except (ValueError, PortalStartError) as error:
        error_out(str(error))
        return 2
    with portal:
        print(f"demo portal at {portal.url}; user {settings.username}, password {password}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0
