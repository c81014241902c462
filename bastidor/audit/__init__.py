"""Bastidor's audit trail: hash-chained, signed JSON Lines logs, secret masking, and their verifier.

- `AuditLog` writes one canonical, masked, hash-chained record per event, seals the chain with signed
  checkpoints (`CheckpointPolicy`), and fails closed (`AuditWriteError`) when the file cannot be written.
- `SecretMasker` masks secret values and sensitive keys in text and nested data.
- `verify_audit_log` proves a log was not altered, or names the exact record that was; its verdict is
  verified, incomplete, unsigned or NOT VERIFIED (`format_result` says it for people).
- `load_signing_key` and `verification_keys` find the Ed25519 keys that sign and check the seals.
"""

from bastidor.audit.canonical import ZERO_HASH, canonical_json, record_hash, to_jsonable
from bastidor.audit.checkpoints import CheckpointPolicy
from bastidor.audit.errors import AuditWriteError
from bastidor.audit.keys import SigningUnavailable, load_signing_key, signing_key_path
from bastidor.audit.log import AuditLog
from bastidor.audit.masking import MASK, SecretMasker, looks_sensitive
from bastidor.audit.public_keys import verification_keys
from bastidor.audit.verdicts import INCOMPLETE, NOT_VERIFIED, UNSIGNED, VERIFIED
from bastidor.audit.verify import AuditProblem, VerifyResult, format_result, verify_audit_log

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
