"""`POST /v1/customers/{id}/erase`: a privacy officer crypto-shreds a customer in person, on
their own proof alone (signed in with a passkey, or their OIDC ID token; see `own_proof`), with
no service token. This is the way for the embedded default, where there is no identity provider
and so no ID token for `custodes customers erase --id-token-file`.

The officer is whoever proved themselves: no field or header names them. The rules are
`access.erasure`'s; a refused proof that names its sender is a recorded deny (403), as is a
proven employee who is no privacy officer; an unknown customer is a recorded 404, one already
erased a recorded 409.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import Field

from custodes.access import erasure
from custodes.access.api_answers import RESPONSES, TheDoor, decision_out, outcome_response
from custodes.access.api_models import OutcomeOut, PathId, Strict
from custodes.access.core import Outcome
from custodes.access.door import Door
from custodes.access.own_proof import Attributed, Csrf, IdToken, own_proof
from custodes.access.principal import acting
from custodes.problems import problem

router = APIRouter(prefix="/v1/customers", tags=["access"])


class ErasureIn(Strict):
    confirm: Annotated[
        Literal[True], Field(description="Erasure cannot be undone: true to confirm it")
    ]


@router.post(
    "/{customer_id}/erase",
    response_model=OutcomeOut,
    responses=RESPONSES,
    summary="Erase a customer (crypto-shredding) as a signed-in privacy officer",
)
def erase(
    customer_id: PathId,
    body: ErasureIn,
    request: Request,
    id_token: IdToken = None,
    csrf: Csrf = None,
    door: Door = TheDoor,
) -> Any:
    """Nobody proven: 401 before anything is looked up (not ledgered: it names nobody)."""
    who = own_proof(request, door, id_token, csrf)
    if isinstance(who, Attributed):
        return _answer(erasure.refuse(door, who.employee_id, customer_id, who.reason))
    with acting(who):
        return _answer(erasure.erase(door, who.employee_id, customer_id))


def _answer(outcome: Outcome) -> Any:
    decision = outcome.decision
    if decision.reason == erasure.ALREADY:
        out = decision_out(decision).model_dump()
        return problem(409, f"{erasure.ACTION} deny: {decision.reason}", decision=out)
    return outcome_response(outcome)


__all__ = ["router"]
