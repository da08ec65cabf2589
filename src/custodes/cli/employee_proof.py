"""The employee's own proof on the command line, for steps the HTTP door also keeps for proven
employees (`custodes policy apply`, `custodes policy execute`, `custodes customers erase`).

An operator's shell names an employee with `--by`; that is a claim, like the legacy header's.
The proof is the employee's OIDC ID token (`--id-token-file`), verified exactly as
`X-Custodes-Employee-Token` is (`identity.IDTokenVerifier`: JWKS signature, issuer, audience,
times, an active employee) and required to name the `--by` employee. With it, the step runs as
that employee with proof "oidc" on its ledger entry (`access.principal.acting`); without it, or
with a refused token, the step is refused and the refusal is on the record, as on HTTP.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from custodes.errors import InputError
from custodes.runtime import Runtime
from custodes.vocabulary import Verdict

if TYPE_CHECKING:
    from custodes.access.door import Door, Outcome
    from custodes.access.principal import Principal

MAX_TOKEN_FILE = 16 * 1024
WHAT_TO_DO = (
    "the proposer's own proof is needed: --id-token-file with their OIDC ID token, or, "
    "without an identity provider, signed in with their passkey: POST /v1/policy/proposals"
)


def read_id_token(path: Path | None) -> str | None:
    """The token in the file (surrounding white space dropped); None without a file."""
    if path is None:
        return None
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_TOKEN_FILE + 1)
    except OSError:
        raise InputError(f"{path}: cannot read the ID token file") from None
    if len(raw) > MAX_TOKEN_FILE:
        raise InputError(f"{path}: larger than an ID token can be")
    return raw.decode("ascii", "replace").strip() or None


def prove(rt: Runtime, door: Door, employee_id: str, token: str | None) -> Principal | str:
    """The proven principal, or the reason code of the refusal (never the token)."""
    from custodes.access.principal import PROOF_OIDC, make_principal
    from custodes.identity.directory import EmployeeDirectory
    from custodes.identity.errors import IdentityError
    from custodes.identity.oidc import IDTokenVerifier
    from custodes.identity.settings import OIDCSettings

    if token is None:
        return "own_proof_required"
    settings = rt.services().oidc or OIDCSettings.from_env()
    if settings is None:
        return "oidc_not_configured"
    try:
        who = IDTokenVerifier(settings, EmployeeDirectory(door.engine)).verify(token)
    except IdentityError as exc:
        return exc.reason
    if who.employee_id != employee_id:
        return "employee_mismatch"
    reference = "jwt:" + who.token_sha256[:32]
    return make_principal(door.keyring.pseudonym_key, employee_id, PROOF_OIDC, None, reference)


def propose_policy(text: str, by: str, id_token_file: Path | None) -> tuple[Outcome, str]:
    """`custodes policy apply`: proposed as `by` only on their own proof; a refusal is a
    recorded deny (InputError with its ledger index). The outcome, and the request's digest
    (empty unless the change now waits for approval)."""
    import hashlib

    from custodes.access import policy_store
    from custodes.access.model import Resource
    from custodes.access.principal import acting
    from custodes.cli.recording import open_door

    rt = Runtime.from_env()
    token = read_id_token(id_token_file)
    with open_door(rt) as door:
        proven = prove(rt, door, by, token)
        if isinstance(proven, str):
            resource = Resource("policy", (hashlib.sha256(text.encode()).hexdigest(),))
            why = policy_store.POLICY_CHANGE_WHY
            refused = door.record_refusal(by, "policy.apply", resource, why, reason=proven)
            raise InputError(
                f"policy change refused: {proven}; {WHAT_TO_DO} "
                f"(ledger entry {refused.decision.ledger_index})"
            )
        with acting(proven):
            outcome = policy_store.propose_policy(door, text, by)
        request_id = outcome.decision.request_id
        pending = outcome.decision.outcome == Verdict.PENDING and request_id is not None
        digest = str(door.preview(request_id)["digest"]) if pending and request_id else ""
    return outcome, digest


def execute_policy(request_id: str, by: str, id_token_file: Path | None) -> Outcome:
    """`custodes policy execute`: the proposer, on their own proof again; a refusal is a
    recorded deny (InputError with its ledger index)."""
    from custodes.access.principal import acting
    from custodes.cli.recording import open_door

    rt = Runtime.from_env()
    token = read_id_token(id_token_file)
    with open_door(rt) as door:
        proven = prove(rt, door, by, token)
        if isinstance(proven, str):
            subject = door.request_subject(request_id)
            if subject is None:
                raise InputError(f"no request {request_id}")
            action, resource, why = subject
            refused = door.record_refusal(by, action, resource, why, request_id, reason=proven)
            raise InputError(
                f"policy change refused: {proven}; the proposer's own proof is needed: "
                f"--id-token-file with their OIDC ID token, or, without an identity provider, "
                f"signed in with their passkey: POST /v1/policy/proposals/{request_id}/execute "
                f"(ledger entry {refused.decision.ledger_index})"
            )
        with acting(proven):
            return door.execute(by, request_id)
