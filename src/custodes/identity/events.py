"""Security events as plain objects, for the integrator's `record(event) -> int` (the ledger).

Each names an action, the employee, the credential and what an auditor needs; never a name,
an e-mail, a password, a session id or a token. `credential.register` carries the credential's
COSE public key, so approvals can later be checked from the ledger alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from custodes.identity._codec import b64url, ledger_chunks
from custodes.ledger.entry import LedgerEntry

ENROLL = "employee.enroll"  # an enrollment link was issued
SIGN_IN = "employee.signin"
SIGN_OUT = "employee.signout"
CREDENTIAL_REGISTER = "credential.register"
CREDENTIAL_REVOKE = "credential.revoke"
PASSWORD_SET = "password.set"
ACTIONS = (ENROLL, SIGN_IN, SIGN_OUT, CREDENTIAL_REGISTER, CREDENTIAL_REVOKE, PASSWORD_SET)
LEDGER_KIND = "identity.event"


@dataclass(frozen=True)
class IdentityEvent:
    """One security event. `decision` is "recorded" for a fact, "deny" for a refused attempt."""

    action: str
    employee_id: str
    time: datetime
    decision: str = "recorded"
    method: str | None = None  # passkey | password | oidc
    credential_id: bytes | None = None
    public_key: bytes | None = None  # COSE_Key, on credential.register only
    alg: int | None = None
    sign_count: int | None = None
    rp_id: str | None = None
    reason: str | None = None
    details: dict[str, str | int | None] = field(default_factory=dict)

    @property
    def credential_id_b64(self) -> str | None:
        return None if self.credential_id is None else b64url(self.credential_id)

    @property
    def public_key_b64(self) -> str | None:
        """The COSE public key, base64url (what the issue asks the event to carry)."""
        return None if self.public_key is None else b64url(self.public_key)

    def to_ledger_entry(self) -> LedgerEntry:
        """The entry the integrator appends; its canonical bytes pass the ledger's checks."""
        extra: dict[str, str | int | bool | None] = {}
        if self.method is not None:
            extra["method"] = self.method
        if self.credential_id is not None:
            extra.update(ledger_chunks("webauthn.credential", self.credential_id))
        if self.public_key is not None:
            extra.update(ledger_chunks("webauthn.public_key", self.public_key))
        if self.alg is not None:
            extra["webauthn.alg"] = self.alg
        if self.sign_count is not None:
            # As bytes, not an integer: the ledger's PII guard takes 8+ digits for a phone number.
            extra.update(ledger_chunks("webauthn.sign_count", self.sign_count.to_bytes(4, "big")))
        if self.rp_id is not None:
            extra["webauthn.rp_id"] = self.rp_id
        extra.update(self.details)
        return LedgerEntry(
            time=self.time,
            actor=self.employee_id,
            action=self.action,
            decision=self.decision,
            resources=(f"employee:{self.employee_id}",),
            reason=self.reason,
            kind=LEDGER_KIND,
            extra=extra,
        )


Recorder = Callable[[IdentityEvent], int]
"""Appends an event to the ledger and returns its index; raising refuses the operation."""
