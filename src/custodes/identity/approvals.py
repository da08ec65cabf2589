"""Transaction authorization: an approval is a WebAuthn assertion over a challenge that commits
to the request's digest, the approval id and the decision (what the approver sees is what the
approver signs). Verifiable online, and offline from ledger entries alone.

The challenge is SHA-256("custodes/approval/v1" NUL digest NUL approval_id NUL decision): fixed
by those three values, so an assertion made for one request, one approval or one decision does
not verify for another. An approval id is accepted once (online: its challenge is spent;
offline: the id may appear once), so a replayed assertion is refused either way.

Sign counts follow WebAuthn L2/L3 (section 6.1.1, step 21 of 7.2): a counter that moves backwards
or stays put is a cloned authenticator and is refused, except that 0 stored and 0 asserted means
the authenticator keeps no counter (many platform passkeys). Such an approval rests on the
single-use challenge alone, which already commits to digest, approval id and decision.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from custodes.identity._codec import from_ledger_chunks, ledger_chunks
from custodes.identity.errors import ApprovalRefused, CredentialRefused
from custodes.identity.events import CREDENTIAL_REGISTER, CREDENTIAL_REVOKE, LEDGER_KIND
from custodes.identity.passkeys import Assertion, verify_assertion

DECISIONS = ("approve", "refuse")
APPROVAL_MARKER = "webauthn.approval"


def counter_ok(stored: int, asserted: int) -> bool:
    """The WebAuthn sign-count rule: strictly increasing, or 0 and 0 (no counter at all)."""
    return asserted > stored or (stored == 0 and asserted == 0)


def approval_challenge(digest: bytes, approval_id: str, decision: str) -> bytes:
    """The 32-byte challenge an approver's authenticator signs."""
    if len(digest) != 32:
        raise ApprovalRefused("bad_digest", "a request digest is 32 bytes (SHA-256)")
    if decision not in DECISIONS:
        raise ApprovalRefused("bad_decision", "the decision is approve or refuse")
    if not approval_id or "\0" in approval_id:
        raise ApprovalRefused("bad_approval_id", "the approval id is empty or malformed")
    return hashlib.sha256(
        b"custodes/approval/v1\0"
        + digest
        + b"\0"
        + approval_id.encode()
        + b"\0"
        + decision.encode()
    ).digest()


@dataclass(frozen=True)
class ApprovalProof:
    """What an approval entry in the ledger must carry for an offline check."""

    approval_id: str
    request_id: str
    digest: bytes
    decision: str
    approver_id: str
    assertion: Assertion
    sign_count: int

    def with_signed_count(self) -> ApprovalProof:
        """The proof with the counter read from its authenticator data (covered by the
        signature, so it is checked when the signature is)."""
        data = self.assertion.authenticator_data
        if len(data) < 37:
            raise ApprovalRefused("bad_assertion", "the authenticator data is too short")
        return replace(self, sign_count=int.from_bytes(data[33:37], "big"))

    def ledger_extra(self) -> dict[str, str | int | bool | None]:
        """The `extra` of the approval's ledger entry (integrator: merge into the entry)."""
        extra: dict[str, str | int | bool | None] = {
            APPROVAL_MARKER: True,
            "webauthn.approval_id": self.approval_id,
            "webauthn.request_id": self.request_id,
            "webauthn.digest": self.digest.hex(),
            "webauthn.decision": self.decision,
        }  # the sign count is inside the signed authenticator data
        extra.update(ledger_chunks("webauthn.credential", self.assertion.credential_id))
        extra.update(
            ledger_chunks("webauthn.authenticator_data", self.assertion.authenticator_data)
        )
        extra.update(ledger_chunks("webauthn.client_data", self.assertion.client_data_json))
        extra.update(ledger_chunks("webauthn.signature", self.assertion.signature))
        return extra

    @classmethod
    def from_ledger(cls, actor: str, extra: Mapping[str, Any]) -> ApprovalProof:
        try:
            return cls(
                approval_id=str(extra["webauthn.approval_id"]),
                request_id=str(extra["webauthn.request_id"]),
                digest=bytes.fromhex(str(extra["webauthn.digest"])),
                decision=str(extra["webauthn.decision"]),
                approver_id=actor,
                assertion=Assertion(
                    from_ledger_chunks(extra, "webauthn.credential"),
                    from_ledger_chunks(extra, "webauthn.authenticator_data"),
                    from_ledger_chunks(extra, "webauthn.client_data"),
                    from_ledger_chunks(extra, "webauthn.signature"),
                ),
                sign_count=-1,
            ).with_signed_count()
        except (KeyError, ValueError, TypeError):
            raise ApprovalRefused(
                "malformed_entry", "the approval entry lacks its assertion"
            ) from None


@dataclass(frozen=True)
class RegisteredCredential:
    """A passkey as the ledger knows it, from its credential.register entry."""

    credential_id: bytes
    employee_id: str
    public_key: bytes
    rp_id: str
    ledger_index: int


def check_approval(
    proof: ApprovalProof,
    credential: RegisteredCredential,
    last_sign_count: int,
    origins: list[str] | None = None,
) -> int:
    """Everything an approval must satisfy, from data alone; returns the new sign count.

    The credential must be the one the assertion names and belong to the approver; the
    assertion must verify over the challenge derived from (digest, approval id, decision) for
    the registered RP id (and origins, when given); the count must pass `counter_ok`."""
    if credential.credential_id != proof.assertion.credential_id:
        raise ApprovalRefused("wrong_credential", "the assertion was made with another credential")
    if credential.employee_id != proof.approver_id:
        raise ApprovalRefused("not_approvers_credential", "the credential belongs to someone else")
    challenge = approval_challenge(proof.digest, proof.approval_id, proof.decision)
    try:
        client = json.loads(proof.assertion.client_data_json)
        origin = client["origin"]
    except (ValueError, KeyError, TypeError):
        raise ApprovalRefused("bad_assertion", "the assertion's client data is malformed") from None
    allowed = origins if origins is not None else [origin]
    try:
        count = verify_assertion(
            None,
            proof.assertion,
            challenge,
            credential.public_key,
            last_sign_count,
            rp_id=credential.rp_id,
            origins=allowed,
            require_user_verification=True,
        )
    except CredentialRefused as exc:
        raise ApprovalRefused(exc.reason, "the approval's assertion does not verify") from None
    if not counter_ok(last_sign_count, count):
        raise ApprovalRefused("replayed_or_cloned", "the sign count did not increase: a clone")
    if count != proof.sign_count:
        raise ApprovalRefused("bad_sign_count", "the recorded sign count is not the signed one")
    return count


@dataclass
class AuditReport:
    """The outcome of checking every approval in a ledger: counts and the failures."""

    credentials: int = 0
    approvals: int = 0
    failures: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def audit_approvals(
    entries: Iterable[tuple[int, Mapping[str, Any]]], origins: list[str] | None = None
) -> AuditReport:
    """Walk ledger entries in index order (index, decoded entry JSON) and check each approval
    against the credentials registered *before* it; revoked credentials stop counting. Counts
    follow `counter_ok`; an approval id may appear once."""
    report = AuditReport()
    registry: dict[bytes, RegisteredCredential] = {}
    counts: dict[bytes, int] = {}
    seen_approvals: set[str] = set()
    for index, entry in entries:
        extra = entry.get("extra") or {}
        action = entry.get("action")
        if entry.get("kind") == LEDGER_KIND and action == CREDENTIAL_REGISTER:
            try:
                cred_id = from_ledger_chunks(extra, "webauthn.credential")
                registry[cred_id] = RegisteredCredential(
                    cred_id,
                    str(entry["actor"]),
                    from_ledger_chunks(extra, "webauthn.public_key"),
                    str(extra["webauthn.rp_id"]),
                    index,
                )
                counts[cred_id] = (
                    int.from_bytes(from_ledger_chunks(extra, "webauthn.sign_count"), "big")
                    if "webauthn.sign_count" in extra
                    else 0
                )
                report.credentials += 1
            except (KeyError, ValueError, TypeError):
                report.failures.append((index, "malformed_registration"))
            continue
        if entry.get("kind") == LEDGER_KIND and action == CREDENTIAL_REVOKE:
            try:
                registry.pop(from_ledger_chunks(extra, "webauthn.credential"), None)
            except ValueError:
                report.failures.append((index, "malformed_revocation"))
            continue
        if not extra.get(APPROVAL_MARKER):
            continue
        report.approvals += 1
        try:
            proof = ApprovalProof.from_ledger(str(entry.get("actor")), extra)
            if proof.approval_id in seen_approvals:
                raise ApprovalRefused("replayed_approval", "this approval id was used before")
            credential = registry.get(proof.assertion.credential_id)
            if credential is None:
                raise ApprovalRefused(
                    "unregistered_credential",
                    "no earlier credential.register entry for this credential",
                )
            counts[credential.credential_id] = check_approval(
                proof, credential, counts.get(credential.credential_id, 0), origins
            )
            seen_approvals.add(proof.approval_id)
        except ApprovalRefused as exc:
            report.failures.append((index, exc.reason))
    return report
