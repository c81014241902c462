"""`audit verify` checks an audit log (chain, signatures, anchor, evidence); `audit key` shows the signing key."""

from __future__ import annotations

from pathlib import Path

from bastidor.cli.common import error_out, find_run, home_dir, open_store


def register(commands) -> None:
    """Add the `audit verify` and `audit key` commands."""
    audit = commands.add_parser("audit", help="audit log tools")
    sub = audit.add_subparsers(dest="audit_command", metavar="verify|key")
    sub.required = True
    verify = sub.add_parser("verify", help="verify an audit log: not edited, not cut, signed, evidence intact")
    verify.add_argument("run", help="run id (or prefix, or 'last'), or the path of an audit .jsonl file")
    verify.add_argument("--public-key", action="append", default=[], metavar="KEY",
                        help="a public key to trust, as `audit key` prints it, or a file holding it (may be "
                             "repeated; default: $BASTIDOR_AUDIT_PUBLIC_KEY, else this machine's signing key)")
    verify.add_argument("--anchors", metavar="DIR",
                        help="the anchors folder (default: the 'anchors' folder beside the signing key)")
    verify.set_defaults(handler=verify_command)
    key = sub.add_parser("key", help="show (creating it if needed) the key that signs audit logs")
    key.set_defaults(handler=key_command)


def verify_command(args) -> int:
    """Exit 0 when the log is verified or intact but incomplete; 1 when it is not verified or unsigned (the
    exact record named); 2 when there is no such log."""
    from bastidor.audit import format_result, verification_keys, verify_audit_log

    path, expected, run_id = Path(args.run), None, None
    if not path.is_file():
        run = find_run(open_store(home_dir(args)), args.run)
        if run is None:
            return 2
        path, expected, run_id = Path(run.audit_path), run.audit_last_hash, run.run_id
    if not path.is_file():
        error_out(f"audit log not found: {path}")
        return 2
    try:
        keys = verification_keys(args.public_key)
    except ValueError as error:
        error_out(f"--public-key or $BASTIDOR_AUDIT_PUBLIC_KEY: {error}")
        return 2
    result = verify_audit_log(path, expected_last_hash=expected, public_keys=keys, anchors_dir=args.anchors,
                              expected_run_id=run_id)
    print(format_result(result))
    return result.exit_code


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
