"""`/v1/requests` and `/v1/policy`: asking for a sensitive action, the approver's masked
preview, and executing once approved. The requester's own proof is required at each step and
recorded with the request (who, and the service token that carried them)."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import APIRouter

from custodes.access.acting import MissingScope, employee, require
from custodes.access.api_answers import RESPONSES, TheDoor, outcome_response, refused
from custodes.access.api_models import OutcomeOut, PathId, PolicyIn, RequestIn
from custodes.access.core import Outcome
from custodes.access.door import Door
from custodes.access.errors import NotFound
from custodes.access.exposure import ExposureHook, TheExposures
from custodes.access.model import REVEALING, Justification, Resource
from custodes.access.policy_store import propose_policy
from custodes.access.principal import Principal
from custodes.access.tokens import TokenInfo
from custodes.errors import ConfigError, InputError

router = APIRouter(prefix="/v1", tags=["access"])


@router.post(
    "/requests",
    status_code=202,
    response_model=OutcomeOut,
    responses=RESPONSES,
    summary="Request a sensitive action (waits for a second person)",
)
def create_request(
    body: RequestIn, who: Principal = employee("requests:write"), door: Door = TheDoor
) -> Any:
    """The requester's own proof is required and recorded with the request (who, and the
    service token that carried them); executing needs it again."""
    resource = Resource(body.resource.kind, tuple(body.resource.ids), tuple(body.resource.fields))
    why = body.justification.to_model()
    if not who.proven:
        return refused(door.record_refusal(who.employee_id, body.action, resource, why).decision)
    return outcome_response(door.request(who.employee_id, body.action, resource, why))


@router.post(
    "/policy",
    status_code=202,
    response_model=OutcomeOut,
    responses=RESPONSES,
    summary="Propose a Cedar policy (schema-validated); applied only under dual control",
)
def propose(
    body: PolicyIn, who: Principal = employee("requests:write"), door: Door = TheDoor
) -> Any:
    if not who.proven:  # a proposal is a request: the proposer's own proof, recorded
        sha = hashlib.sha256(body.text.encode()).hexdigest()
        why = Justification("legal", None, "policy change")
        resource = Resource("policy", (sha,))
        denied = door.record_refusal(who.employee_id, "policy.apply", resource, why)
        return refused(denied.decision)
    try:
        outcome = propose_policy(door, body.text, who.employee_id)
    except ConfigError as exc:  # the text does not parse or validate: the caller's to fix
        raise InputError(str(exc)) from None
    return outcome_response(outcome)


@router.get("/requests/{request_id}", responses=RESPONSES, summary="Masked preview")
def preview(
    request_id: PathId, _: TokenInfo = require("approvals:write"), door: Door = TheDoor
) -> dict[str, Any]:
    return door.preview(request_id)


@router.post("/requests/{request_id}/execute", response_model=OutcomeOut, responses=RESPONSES)
def execute(
    request_id: PathId,
    who: Principal = employee("requests:write"),
    door: Door = TheDoor,
    hook: ExposureHook | None = TheExposures,
) -> Any:
    """Only the requester, on their own proof again (never a service's word)."""
    token = who.token
    assert token is not None
    # Executing a reveal or an export hands out PII: the same scope as a direct reveal.
    if "customers:reveal" not in token.scopes and door.request_action(request_id) in REVEALING:
        raise MissingScope("this request returns customer data: the token lacks customers:reveal")
    if not who.proven:
        subject = door.request_subject(request_id)
        if subject is None:
            raise NotFound(f"no request {request_id}")
        action, resource, why = subject
        denied = door.record_refusal(who.employee_id, action, resource, why, request_id)
        return refused(denied.decision)
    outcome = door.execute(who.employee_id, request_id)
    if hook is not None and isinstance(outcome.data, dict):  # the records' own canaries
        d = outcome.decision
        data = hook.revealed_set(
            who.employee_id, d.action, d.ledger_index, request_id, outcome.data
        )
        outcome = Outcome(d, data)
    return outcome_response(outcome)
