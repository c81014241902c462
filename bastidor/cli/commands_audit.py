"""`audit verify` checks an audit log (chain, signatures, anchor, evidence), from the local file or the shared
database's copy; `audit ship` sends what the shared database lacks; `audit key` shows the signing key."""

from __future__ import annotations

from pathlib import Path

from bastidor.cli.common import error_out, find_run, home_dir, open_store
from bastidor.database.places import places_for


def register(commands) -> None:
    """Add the `audit verify` and `audit key` commands."""
    audit = commands.add_parser("audit", help="audit log tools")
    sub = audit.add_subparsers(dest="audit_command", metavar="verify|ship|key")
    sub.required = True
    verify = sub.add_parser("verify", help="verify an audit log: not edited, not cut, signed, evidence intact (a run "
                                           "of another machine: from the shared database's copy, --database)")
    verify.add_argument("run", help="run id (or prefix, or 'last'), or the path of an audit .jsonl file")
    verify.add_argument("--public-key", action="append", default=[], metavar="KEY",
                        help="a public key to trust, as `audit key` prints it, or a file holding it (may be "
                             "repeated; default: $BASTIDOR_AUDIT_PUBLIC_KEY, else this machine's signing key)")
    verify.add_argument("--anchors", metavar="DIR",
                        help="the anchors folder (default: the 'anchors' folder beside the signing key)")
    verify.set_defaults(handler=verify_command)
    ship = sub.add_parser("ship", help="send this home's audit logs and evidence that the shared database (--database) "
                                       "does not hold yet")
    ship.set_defaults(handler=ship_command)
    key = sub.add_parser("key", help="show (creating it if needed) the key that signs audit logs")
    key.set_defaults(handler=key_command)


def verify_command(args) -> int:
    """Exit 0 when the log is verified or intact but incomplete; 1 when it is not verified or unsigned (the
    exact record named); 2 when there is no such log. A run's log is read from the shared database when this
    machine has no local copy; when it has both, they are compared."""
    from bastidor.audit import verification_keys

    from bastidor.store import StoreError

    path = Path(args.run)
    try:
        run = None if path.is_file() else find_run(open_store(home_dir(args)), args.run)
    except StoreError as error:
        error_out(str(error))
        return 2
    if run is None and not path.is_file():
        return 2
    try:
        keys = verification_keys(args.public_key)
    except ValueError as error:
        error_out(f"--public-key or $BASTIDOR_AUDIT_PUBLIC_KEY: {error}")
        return 2
    if run is None:
        return _verify_file(path, keys, args.anchors)
    return _verify_run(run, keys, args.anchors, places_for(home_dir(args)).url)


def _verify_file(path: Path, keys, anchors: str | None) -> int:
    from bastidor.audit import format_result, verify_audit_log

    result = verify_audit_log(path, public_keys=keys, anchors_dir=anchors)
    print(format_result(result))
    return result.exit_code


def _verify_run(run, keys, anchors: str | None, url: str | None) -> int:
    from bastidor.audit import format_result
    from bastidor.audit.shared_copy import SharedDatabaseUnavailable, verify_run_audit

    try:
        audit = verify_run_audit(run.run_id, run.audit_path, url, run.audit_last_hash, public_keys=keys,
                                 anchors_dir=anchors)
    except SharedDatabaseUnavailable as error:
        error_out(f"{error}, or verify on the machine that ran it (run {run.run_id} ran on {run.host})")
        return 2
    if audit is None:
        elsewhere = "; the shared database holds no copy of it either" if url else ""
        error_out(f"audit log not found: {run.audit_path}{elsewhere}")
        return 2
    print(format_result(audit.result))
    if audit.comparison:
        print(audit.comparison)
    return audit.result.exit_code


def ship_command(args) -> int:
    """Ship every run of the home whose audit log or evidence the shared database lacks. Exit 1 when a line
    or file differs from the copy already there (it is named, and left as it is); 2 without a database."""
    from sqlalchemy.exc import SQLAlchemyError

    from bastidor.audit.shipping import ship_pending
    from bastidor.database.places import safe_url

    home = home_dir(args)
    url = places_for(home).url
    if url is None:
        error_out("audit ship sends runs to the shared database: pass --database URL or set $BASTIDOR_DATABASE_URL")
        return 2
    try:
        reports = ship_pending(home, url)
    except SQLAlchemyError as error:
        cause = str(getattr(error, "orig", None) or error).strip().splitlines() or [type(error).__name__]
        error_out(f"the shared database {safe_url(url)} cannot be reached ({cause[0]}); "
                  "nothing was shipped, the files stay in the home folder: try again when it is back")
        return 2
    return _print_shipped(reports)


def _print_shipped(reports) -> int:
    for report in reports:
        if report.unreadable:
            error_out(f"run {report.run_id}: its folder cannot be read, nothing shipped: {report.unreadable}")
            continue
        print(f"run {report.run_id}: {report.lines_added} audit lines, {report.artifacts_added} evidence files shipped")
        for problem in report.missing:
            print(f"  warning: {problem}")
        for conflict in report.conflicts:
            print(f"  error: {conflict}")
    refused = sum(1 for report in reports if report.conflicts)
    unreadable = sum(1 for report in reports if report.unreadable)
    shipped = sum(1 for report in reports if report.lines_added)
    exceptions = [f"{refused} whose copy there differs (left as it is, see above)"] if refused else []
    exceptions += [f"{unreadable} whose folder cannot be read"] if unreadable else []
    print(f"{shipped} run(s) shipped; every other run of this home is in the shared database"
          + (f", except {' and '.join(exceptions)}." if exceptions else "."))
    return 1 if refused or unreadable else 0


def key_command(args) -> int:
    """Print where the signing key is, its key id and its public key; create it when missing."""
    from bastidor.audit import SigningUnavailable, load_signing_key

    try:
        key = load_signing_key()
    except SigningUnavailable as error:
        error_out(f"{error}. Audit logs are written unsigned until this is fixed; set $BASTIDOR_AUDIT_KEY_FILE "
                  "to a file in a folder you can write, outside any Bastidor home.")
        return 1
    _print_key(key)
    for warning in _key_warnings(key, home_dir(args).resolve()):
        error_out(warning)
    return 0


def _print_key(key) -> None:
    from bastidor.audit.anchors import anchors_folder
    from bastidor.audit.public_keys import public_key_text

    public = public_key_text(key.public_key)
    print(f"signing key: {key.path}" + (" (created now)" if key.created else ""))
    print(f"key id:      {key.key_id}")
    print(f"public key:  {public}")
    print(f"anchors:     {anchors_folder(key.path)}")
    print(f"to check logs elsewhere: runner.py audit verify FILE --public-key {public}")


def _key_warnings(key, home: Path) -> list[str]:
    from bastidor.audit.anchors import AnchorStore, anchors_folder

    warnings = []
    if key.path.stat().st_mode & 0o077:
        warnings.append(f"other users may read or change {key.path}: make it private with chmod 600")
    problem = AnchorStore(anchors_folder(key.path)).writable_problem()
    if problem:
        warnings.append(f"{problem}: logs are signed, but records cut from their ends cannot be noticed; fix "
                        "the folder's permissions")
    if key.path.resolve().is_relative_to(home):
        warnings.append(f"the signing key is inside the home folder {home}: whoever can rewrite the logs can "
                        "also sign them. Move it out and point $BASTIDOR_AUDIT_KEY_FILE at it.")
    return warnings
