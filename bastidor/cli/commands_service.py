"""`serve` runs the unattended service; `trigger` asks it to run a schedule or a flow now."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

from bastidor.cli.common import error_out, home_dir, os_user
from bastidor.flow.diagnostics import FlowValidationError
from bastidor.database.places import places_for


def register(commands) -> None:
    """Add the `serve` and `trigger` commands."""
    from bastidor.service.pool import default_workers

    serve = commands.add_parser("serve", help="run schedules unattended with a pool of bot workers")
    serve.add_argument("--schedules", default="schedules.yaml", help="schedules file (default: schedules.yaml)")
    serve.add_argument("--workers", type=int, default=default_workers(), help="bot worker processes")
    serve.add_argument("--drain-timeout", type=float, default=60.0, help="seconds in-flight work may finish")
    serve.add_argument("--lease", type=float, default=30.0, help="seconds a claim lasts without a heartbeat")
    serve.add_argument("--recycle-after", type=int, default=25, help="runs before a bot restarts its browser")
    serve.add_argument("--base-url", help="override the flows' bot base_url")
    serve.add_argument("--demo-portal", action="store_true",
                       help="also serve the bundled demo portal on 127.0.0.1:8765 for the demo schedule")
    serve.add_argument("--port", type=int, help="with --demo-portal: serve the portal on this port instead of "
                       "8765, and point the flows at it (as --base-url http://127.0.0.1:PORT)")
    serve.set_defaults(handler=serve_command)
    trigger = commands.add_parser("trigger", help="queue a run of a schedule or a flow now")
    trigger.add_argument("target", help="a schedule id from the schedules file, or a flow file")
    trigger.add_argument("--schedules", default="schedules.yaml")
    trigger.add_argument("--input", "-i", action="append", default=[], metavar="NAME=VALUE")
    trigger.set_defaults(handler=trigger_command)


def serve_command(args) -> int:
    """Run the service until SIGTERM or Ctrl-C."""
    from bastidor.cli.commands_db import upgrade_before_start
    from bastidor.queue import open_work_queue
    from bastidor.schedule import load_schedules
    from bastidor.service.serve import Service, ServiceSettings

    port = _demo_portal_port(args)
    if port is None:
        return 2
    schedules = Path(args.schedules)
    try:
        load_schedules(schedules)
    except FlowValidationError as error:
        print(error, file=sys.stderr)
        return 2
    home = home_dir(args)
    if not upgrade_before_start(home):  # the shared database may be behind this Bastidor
        return 2
    base_url = args.base_url or (f"http://127.0.0.1:{port}" if args.port is not None else None)
    settings = ServiceSettings(home=home, schedules=schedules, workers=args.workers,
                               drain_timeout_s=args.drain_timeout, lease_s=args.lease,
                               recycle_after=args.recycle_after, base_url=base_url,
                               demo_portal=args.demo_portal, demo_portal_port=port)
    return Service(settings, open_work_queue(places_for(home).queue)).run()


def _demo_portal_port(args) -> int | None:
    """The demo portal's port, checked free before the service starts; None after saying what is wrong."""
    from bastidor.service.serve import DEMO_PORTAL_PORT

    if args.port is not None and not args.demo_portal:
        error_out("--port is the demo portal's port: add --demo-portal, or leave --port out")
        return None
    port = DEMO_PORTAL_PORT if args.port is None else args.port
    if not 1 <= port <= 65535:
        error_out(f"--port must be a port number from 1 to 65535, got {port}")
        return None
    if args.demo_portal:
        from bastidor.demo_portal.server import PortalStartError, bind_socket

        try:
            bind_socket("127.0.0.1", port).close()
        except PortalStartError as error:
            error_out(f"the demo portal cannot start: {error} (--port PORT chooses another)")
            return None
    return port


def trigger_command(args) -> int:
    """Queue a manual run, audited with the user who asked for it."""
    from bastidor.executor.inputs import InputError, parse_assignments
    from bastidor.queue import open_work_queue
    from bastidor.service.trigger import trigger_run

    try:
        request = trigger_run(open_work_queue(places_for(home_dir(args)).queue), home_dir(args), args.target,
                              Path(args.schedules), parse_assignments(args.input), os_user(), f"manual:{uuid.uuid4()}")
    except (FlowValidationError, InputError, LookupError) as error:
        error_out(str(error))
        return 2
    print(f"queued {request} (a running `serve` picks it up)")
    return 0

