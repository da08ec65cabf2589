"""`/v1/policy/proposals`: a privacy officer changes the policy in person, on their own proof
alone (signed in with a passkey, or their OIDC ID token; see `own_proof`), with no service
token. This is the way for the embedded default, where there is no identity provider and so
no ID token for `custodes policy apply --id-token-file`.

The change keeps its dual control: proposing makes a pending `policy.apply` request (the text
validated against the schema, as everywhere); a second, independent privacy officer approves
its digest from their inbox; then the proposer, on their own proof again, executes it here.
`POST /v1/policy` stays for a service acting for a proven employee.
"""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import APIRouter, Request

from custodes.access.api_answers import RESPONSES, TheDoor, outcome_response, refused
from custodes.access.api_models import OutcomeOut, PathId, PolicyIn
from custodes.access.door import Door
from custodes.access.errors import NotFound
from custodes.access.model import Justification, Resource
from custodes.access.own_proof import Attributed, Csrf, IdToken, own_proof
from custodes.access.policy_store import POLICY_CHANGE_WHY, propose_policy
from custodes.access.principal import acting
from custodes.errors import ConfigError, InputError

router = APIRouter(prefix="/v1/policy", tags=["access"])
ACTION = "policy.apply"


@router.post(
    "/proposals",
    status_code=202,
    response_model=OutcomeOut,
    responses=RESPONSES,
    summary="Propose a Cedar policy as a signed-in privacy officer (dual-controlled)",
)
def propose(
    body: PolicyIn,
    request: Request,
    id_token: IdToken = None,
    csrf: Csrf = None,
    door: Door = TheDoor,
) -> Any:
    """The proposer is whoever proved themselves: a name is never taken from the request. A
    refused proof that names its sender, or a proposer who is no privacy officer, is a
    recorded deny (403); a text that does not validate is a 400."""
    resource = Resource("policy", (hashlib.sha256(body.text.encode()).hexdigest(),))
    who = own_proof(request, door, id_token, csrf)
    if isinstance(who, Attributed):
        return _refuse(door, who, resource, POLICY_CHANGE_WHY, None)
    with acting(who):
        try:
            outcome = propose_policy(door, body.text, who.employee_id)
        except ConfigError as exc:  # the text does not parse or validate: the caller's to fix
            raise InputError(str(exc)) from None
    return outcome_response(outcome)


@router.post(
    "/proposals/{request_id}/execute",
    response_model=OutcomeOut,
    responses=RESPONSES,
    summary="Carry out an approved policy change (its proposer, on their own proof)",
)
def execute(
    request_id: PathId,
    request: Request,
    id_token: IdToken = None,
    csrf: Csrf = None,
    door: Door = TheDoor,
) -> Any:
    """Only a `policy.apply` request: other requests keep their service-token route (a reveal's
    execution also needs the token's `customers:reveal`)."""
    who = own_proof(request, door, id_token, csrf)  # nobody proven: 401 before any lookup
    subject = door.request_subject(request_id)
    if subject is None or subject[0] != ACTION:
        raise NotFound(f"no policy change {request_id}")
    _, resource, why = subject
    if isinstance(who, Attributed):
        return _refuse(door, who, resource, why, request_id)
    with acting(who):
        return outcome_response(door.execute(who.employee_id, request_id))


def _refuse(
    door: Door, who: Attributed, resource: Resource, why: Justification, request_id: str | None
) -> Any:
    denied = door.record_refusal(who.employee_id, ACTION, resource, why, request_id, who.reason)
    return refused(denied.decision)


__all__ = ["router"]
