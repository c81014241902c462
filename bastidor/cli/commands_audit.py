"""`audit verify` checks a run's hash-chained audit log and names any record that was tampered with."""

from __future__ import annotations

from pathlib import Path

from bastidor.audit import format_result, verify_audit_log
from bastidor.cli.common import error_out, find_run, home_dir, open_store


def register(commands) -> None:
    """Add the `audit verify` command."""
    audit = commands.add_parser("audit", help="audit log tools")
    sub = audit.add_subparsers(dest="audit_command", metavar="verify")
    sub.required = True
    verify = sub.add_parser("verify", help="verify a run's audit log has not been edited")
    verify.add_argument("run", help="run id (or prefix, or 'last'), or the path of an audit .jsonl file")
    verify.set_defaults(handler=verify_command)


def verify_command(args) -> int:
    """Exit 0 when the log verifies; 1 with the exact record named when it does not."""
    path, expected = Path(args.run), None
    if not path.is_file():
        run = find_run(open_store(home_dir(args)), args.run)
        if run is None:
            return 2
        path, expected = Path(run.audit_path), run.audit_last_hash
    if not path.is_file():
        error_out(f"audit log not found: {path}")
        return 2
    result = verify_audit_log(path, expected_last_hash=expected)
    print(format_result(result))
    return 0 if result.ok else 1
