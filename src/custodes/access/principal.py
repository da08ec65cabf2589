"""Who acts on a `/v1` call, and how that was proven.

A calling service always authenticates itself (`Authorization: Bearer cst_…`). The employee it
acts for is then proven, in this order:

1. `X-Custodes-Employee-Token`: the employee's OIDC ID token, verified against the identity
   provider's JWKS (`identity.IDTokenVerifier`) -> proof "oidc";
2. the `custodes_session` cookie of a signed-in employee (with the session's CSRF token on every
   state-changing call) -> proof "session";
3. the plain `X-Custodes-Employee` header, only when the service token was created with
   `--trust-employee-header` (scope `employee:assert`) -> proof "asserted": the service speaks
   for the employee, and every decision says so.

Anything else is a 401, and the refusal is on the record (the identity error's reason code,
never the token). Approvals, refusals, executions, break-glass, requests and case opening need
the employee's own proof ("oidc" or "session"); the endpoints refuse an asserted name with a
recorded deny (`Door.record_refusal`).

Every ledger entry the door writes while serving a call carries how its actor was proven
(`proof`, `proof_ref`, the service token as `svc`): the call's principal is held in a context
variable for the duration of the call (`acting`), which `Door` reads when it builds an entry.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from custodes.access.tokens import TokenInfo
from custodes.vocabulary import Verdict

if TYPE_CHECKING:
    from custodes.identity.oidc import IDTokenVerifier, VerifiedEmployee

PROOF_OIDC = "oidc"
PROOF_SESSION = "session"
PROOF_ASSERTED = "asserted"
OWN_PROOFS = frozenset({PROOF_OIDC, PROOF_SESSION})
ASSERT_SCOPE = "employee:assert"  # what `tokens create --trust-employee-header` grants
TOKEN_HEADER = "X-Custodes-Employee-Token"
EMPLOYEE_HEADER = "X-Custodes-Employee"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Extra = Mapping[str, str | int | bool | None]


@dataclass(frozen=True)
class Principal:
    """The acting employee, how they were proven, and the service token that carried them.

    `reference` names the proof without opening anything (a session's public ref, a prefix of
    the ID token's SHA-256); `extra` is what every ledger entry of the call carries."""

    employee_id: str
    proof: str
    token: TokenInfo | None
    reference: str | None = None
    extra: Extra = field(default_factory=dict)

    @property
    def proven(self) -> bool:
        """The employee's own proof (an ID token or a session), not a service's word."""
        return self.proof in OWN_PROOFS


def principal_extra(
    key: bytes, proof: str, token: TokenInfo | None, reference: str | None
) -> dict[str, str | int | bool | None]:
    """The ledger `extra` of a principal. The token id goes through the ledger's id rule (a
    keyed digest should it ever look like a phone number)."""
    from custodes.access.door import ledger_id

    extra: dict[str, str | int | bool | None] = {"proof": proof}
    if token is not None:
        extra["svc"] = ledger_id(key, token.token_id, True)
    if reference:
        extra["proof_ref"] = reference
    if proof == PROOF_ASSERTED:
        extra["asserted_by"] = "service"
    return extra


def make_principal(
    key: bytes, employee_id: str, proof: str, token: TokenInfo | None, reference: str | None
) -> Principal:
    return Principal(
        employee_id, proof, token, reference, principal_extra(key, proof, token, reference)
    )


_ACTING: ContextVar[Principal | None] = ContextVar("custodes_acting", default=None)


def set_acting(principal: Principal | None) -> None:
    """Make `principal` the actor of this call (an HTTP request runs in its own context)."""
    _ACTING.set(principal)


@contextmanager
def acting(principal: Principal) -> Iterator[Principal]:
    """`principal` acts for the duration of the block (pages, scripts)."""
    reset = _ACTING.set(principal)
    try:
        yield principal
    finally:
        _ACTING.reset(reset)


def acting_extra() -> Extra:
    """What the current call's entries carry about their actor's proof ({} outside a call)."""
    principal = _ACTING.get()
    return principal.extra if principal is not None else {}


def current_principal() -> Principal | None:
    return _ACTING.get()


class VerifiedTokens:
    """Recently verified ID tokens, by SHA-256 of the token, for a few seconds (never past the
    token's expiry): a service sending the same token on every call pays for one verification,
    and a suspension or key rotation still bites within `ttl` seconds."""

    def __init__(self, verifier: IDTokenVerifier, ttl: float = 2.0, size: int = 10_000) -> None:
        self.verifier = verifier
        self.ttl = ttl
        self.size = size
        self._hits: dict[bytes, tuple[float, VerifiedEmployee]] = {}

    def cached(self, token: str) -> VerifiedEmployee | None:
        hit = self._hits.get(hashlib.sha256(token.encode()).digest())
        if hit is None or hit[0] <= time.monotonic():
            return None
        if hit[1].expires_at <= datetime.now(UTC):
            return None
        return hit[1]

    def verify(self, token: str) -> VerifiedEmployee:
        """Verify (blocking: may fetch the JWKS and reads the employee record) and remember."""
        who = self.verifier.verify(token)
        if len(self._hits) >= self.size:
            self._hits.clear()
        self._hits[hashlib.sha256(token.encode()).digest()] = (time.monotonic() + self.ttl, who)
        return who


def refusal_entry(
    key: bytes, token: TokenInfo, method: str, reason: str, now: datetime
) -> tuple[bytes, list[dict[str, Any]]]:
    """The ledger entry of a refused employee proof: which service, which method, why. The
    token itself, and any name it claims, never enter the ledger."""
    from custodes.access.door import ledger_id
    from custodes.ledger.entry import LedgerEntry

    actor = "svc:" + ledger_id(key, token.token_id, True)
    entry = LedgerEntry(
        time=now,
        actor=actor,
        action="employee.authenticate",
        decision=Verdict.DENY,
        resources=[],
        reason=reason,
        kind="access.principal",
        extra={"proof": method, "svc": ledger_id(key, token.token_id, True)},
    )
    return entry.encode(), []


__all__ = [
    "ASSERT_SCOPE",
    "CSRF_HEADER",
    "EMPLOYEE_HEADER",
    "OWN_PROOFS",
    "PROOF_ASSERTED",
    "PROOF_OIDC",
    "PROOF_SESSION",
    "TOKEN_HEADER",
    "Principal",
    "VerifiedTokens",
    "acting",
    "acting_extra",
    "current_principal",
    "make_principal",
    "refusal_entry",
    "set_acting",
]
