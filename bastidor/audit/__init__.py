"""Bastidor's audit trail: hash-chained, signed JSON Lines logs, secret masking, and their verifier.

- `AuditLog` writes one canonical, masked, hash-chained record per event, seals the chain with signed
  checkpoints (`CheckpointPolicy`), and fails closed (`AuditWriteError`) when the file cannot be written.
- `SecretMasker` masks secret values and sensitive keys in text and nested data.
- `verify_audit_log` proves a log was not altered, or names the exact record that was; its verdict is
  verified, incomplete, unsigned or NOT VERIFIED (`format_result` says it for people).
- `load_signing_key` and `verification_keys` find the Ed25519 keys that sign and check the seals.

Names are imported on first use, so `from bastidor.audit import AuditWriteError` costs one small module.
"""

from bastidor.lazy import lazy_exports

_EXPORTS = {
    "ZERO_HASH": "canonical", "canonical_json": "canonical", "record_hash": "canonical", "to_jsonable": "canonical",
    "CheckpointPolicy": "checkpoints",
    "AuditWriteError": "errors",
    "SigningUnavailable": "keys", "load_signing_key": "keys", "signing_key_path": "keys",
    "AuditLog": "log",
    "MASK": "masking", "SecretMasker": "masking", "looks_sensitive": "masking",
    "verification_keys": "public_keys",
    "INCOMPLETE": "verdicts", "NOT_VERIFIED": "verdicts", "UNSIGNED": "verdicts", "VERIFIED": "verdicts",
    "AuditProblem": "verify", "VerifyResult": "verify", "format_result": "verify", "verify_audit_log": "verify",
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
    "AuditWriteError",
    "CheckpointPolicy",
    "SecretMasker",
    "SigningUnavailable",
    "VerifyResult",
    "canonical_json",
    "format_result",
    "load_signing_key",
    "looks_sensitive",
    "record_hash",
    "signing_key_path",
    "to_jsonable",
    "verification_keys",
    "verify_audit_log",
]
