"""Bastidor's audit trail: hash-chained, signed JSON Lines logs, secret masking, and their verifier.

- `AuditLog` writes one canonical, masked, hash-chained record per event, seals the chain with signed
  checkpoints (`CheckpointPolicy`), and fails closed (`AuditWriteError`) when the file cannot be written.
- `SecretMasker` masks secret values and sensitive keys in text and nested data.
- `verify_audit_log` proves a log was not altered, or names the exact record that was; its verdict is
  verified, incomplete, unsigned or NOT VERIFIED (`format_result` says it for people).
- `load_signing_key` and `verification_keys` find the Ed25519 keys that sign and check the seals.
- With a shared database, `ship_pending` (and, at each run's end, `shipping.ship_after_run`) copies logs
  into its append-only ``audit_records`` table and evidence into its ``artifacts`` table (`tables`);
  `verify_run_audit` verifies a run's log from the local file, the database's copy, or both (compared);
  `open_artifact_store` gives the evidence files behind one interface, wherever they are.

Names are imported on first use, so `from bastidor.audit import AuditWriteError` costs one small module.
"""

from bastidor.lazy import lazy_exports

_EXPORTS = {
    "ZERO_HASH": "canonical", "canonical_json": "canonical", "record_hash": "canonical", "to_jsonable": "canonical",
    "ArtifactStore": "artifacts", "ArtifactUnavailable": "artifacts", "open_artifact_store": "artifacts",
    "CheckpointPolicy": "checkpoints",
    "AuditWriteError": "errors",
    "SigningUnavailable": "keys", "load_signing_key": "keys", "signing_key_path": "keys",
    "AuditLog": "log",
    "MASK": "masking", "SecretMasker": "masking", "looks_sensitive": "masking",
    "verification_keys": "public_keys",
    "INCOMPLETE": "verdicts", "NOT_VERIFIED": "verdicts", "UNSIGNED": "verdicts", "VERIFIED": "verdicts",
    "AuditProblem": "verify", "VerifyResult": "verify", "format_result": "verify", "verify_audit_log": "verify",
    "verify_audit_bytes": "verify",
    "SharedDatabaseUnavailable": "shared_copy", "verify_run_audit": "shared_copy",
    "ship_pending": "shipping",
}
"""Each exported name and the module it lives in: imported on first use (see `bastidor.lazy`)."""
__getattr__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "INCOMPLETE",
    "MASK",
    "NOT_VERIFIED",
    "UNSIGNED",
    "VERIFIED",
    "ZERO_HASH",
    "AuditLog",
    "AuditProblem",
    "ArtifactStore",
    "ArtifactUnavailable",
    "AuditWriteError",
    "CheckpointPolicy",
    "SecretMasker",
    "SharedDatabaseUnavailable",
    "SigningUnavailable",
    "VerifyResult",
    "canonical_json",
    "format_result",
    "load_signing_key",
    "looks_sensitive",
    "open_artifact_store",
    "record_hash",
    "ship_pending",
    "signing_key_path",
    "to_jsonable",
    "verification_keys",
    "verify_audit_bytes",
    "verify_audit_log",
    "verify_run_audit",
]
