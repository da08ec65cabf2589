"""`custodes customers erase`: a customer is crypto-shredded in a privacy officer's name only on
that officer's own proof (`--id-token-file`, verified as for `custodes policy apply`; see
`employee_proof`). `--operator` alone is an operator's claim: refused, and the refusal is on the
record, with nothing erased. The rules (who may erase, recorded before the key is destroyed)
are `access.erasure`'s, shared with `POST /v1/customers/ID/erase`, the way without an identity
provider; the entry also names the operating-system account that carried the proof.
"""

from __future__ import annotations

from pathlib import Path

from custodes.access import erasure
from custodes.access.core import Outcome
from custodes.errors import InputError
from custodes.runtime import Runtime
from custodes.vocabulary import Verdict


def _what_to_do(customer_id: str) -> str:
    return (
        "the privacy officer's own proof is needed: --id-token-file with their OIDC ID token, "
        "or, without an identity provider, signed in with their passkey: "
        f"POST /v1/customers/{customer_id}/erase"
    )


def erase_as(customer_id: str, operator: str, id_token_file: Path | None) -> Outcome:
    """Erase as `operator` on their own proof; every refusal is a recorded deny, raised as an
    InputError that names the reason and the ledger entry."""
    from custodes.access.principal import acting
    from custodes.cli.employee_proof import prove, read_id_token
    from custodes.cli.recording import open_door
    from custodes.cli.recording import operator as os_account

    erasure.resource(customer_id)  # a malformed id is refused before anything is recorded
    rt = Runtime.from_env()
    token = read_id_token(id_token_file)
    with open_door(rt) as door:
        proven = prove(rt, door, operator, token)
        if isinstance(proven, str):
            refused = erasure.refuse(door, operator, customer_id, proven)
            raise InputError(
                f"erasure refused: {proven}; {_what_to_do(customer_id)} "
                f"(ledger entry {refused.decision.ledger_index})"
            )
        with acting(proven):
            outcome = erasure.erase(door, operator, customer_id, {"ran_by": os_account()})
    decision = outcome.decision
    if decision.outcome != Verdict.RECORDED:
        raise InputError(
            f"{_refusal(decision.reason, customer_id, operator)} "
            f"(ledger entry {decision.ledger_index})"
        )
    return outcome


def _refusal(reason: str, customer_id: str, operator: str) -> str:
    if reason == erasure.UNKNOWN:
        return f"no customer {customer_id}"
    if reason == erasure.ALREADY:
        return f"customer {customer_id} was already erased"
    if reason == erasure.NOT_ERASER:
        return f"{operator} is not an active privacy officer; erasure is theirs to order ({reason})"
    return f"erasure refused: {reason}"
