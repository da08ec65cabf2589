"""Approving or refusing over `/v1`: two steps, each on the approver's own proof.

1. `POST /v1/requests/{id}/approval {decision, digest}`: the digest the approver was shown must
   be the request's; the answer is a WebAuthn assertion challenge that commits to (digest,
   approval id, decision), limited to the approver's own passkeys.
2. `POST /v1/requests/{id}/approve` (or `/refuse`) `{approval_id, credential}`: the browser's
   assertion is verified (`identity.finish_approval`) and the door records the decision with
   the assertion in its ledger entry (`Door.approve` / `Door.refuse`).

A name a service asserts (legacy header) is refused at either step with a recorded deny, and so
is an assertion that does not verify (the identity error's reason code).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from custodes.access.acting import employee
from custodes.access.api_answers import RESPONSES, TheDoor, outcome_response, refused
from custodes.access.api_models import ID_CHARS, PathId, Strict
from custodes.access.door import Door
from custodes.access.errors import NotFound
from custodes.access.principal import Principal

router = APIRouter(prefix="/v1", tags=["access"])


class ApprovalStartIn(Strict):
    decision: Literal["approve", "refuse"]
    digest: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="The digest you saw")]


class ApprovalStartOut(BaseModel):
    approval_id: str
    options: dict[str, Any] = Field(
        description="PublicKeyCredentialRequestOptions for navigator.credentials.get"
    )


class ApprovalFinishIn(Strict):
    approval_id: Annotated[str, Field(min_length=1, max_length=64, pattern=ID_CHARS)]
    credential: Annotated[
        dict[str, Any], Field(description="The PublicKeyCredential (JSON) the browser returned")
    ]


async def _refuse(door: Door, who: Principal, request_id: str, reason: str) -> JSONResponse:
    """A recorded deny of this approval step (actor: the caller; action: approve.<action>)."""
    subject = await run_in_threadpool(door.request_subject, request_id)
    if subject is None:
        raise NotFound(f"no request {request_id}")
    action, resource, _ = subject
    outcome = await run_in_threadpool(
        door.record_refusal,
        who.employee_id,
        f"approve.{action}",
        resource,
        None,
        request_id,
        reason,
    )
    return refused(outcome.decision)


@router.post(
    "/requests/{request_id}/approval",
    response_model=ApprovalStartOut,
    responses=RESPONSES,
    summary="Start approving or refusing: a WebAuthn challenge over digest, id and decision",
)
async def start(
    request_id: PathId,
    body: ApprovalStartIn,
    request: Request,
    who: Principal = employee("approvals:write"),
    door: Door = TheDoor,
) -> Any:
    from custodes.identity.errors import IdentityError

    if not who.proven:
        return await _refuse(door, who, request_id, "own_proof_required")
    preview = await run_in_threadpool(door.preview, request_id)  # NotFound if unknown
    if preview["digest"] != body.digest:
        return await _refuse(door, who, request_id, "request_modified")
    service = request.app.state.identity
    digest = bytes.fromhex(body.digest)
    try:
        options = await run_in_threadpool(
            service.begin_approval, who.employee_id, request_id, digest, body.decision
        )
    except IdentityError as exc:
        return await _refuse(door, who, request_id, exc.reason)
    return ApprovalStartOut(
        approval_id=options.challenge_id, options=json.loads(options.options_json)
    )


def _finish(decision: Literal["approve", "refuse"]) -> Any:
    async def endpoint(
        request_id: PathId,
        body: ApprovalFinishIn,
        request: Request,
        who: Principal = employee("approvals:write"),
        door: Door = TheDoor,
    ) -> Any:
        from custodes.identity.errors import IdentityError

        if not who.proven:
            return await _refuse(door, who, request_id, "own_proof_required")
        service = request.app.state.identity
        try:
            proof = await run_in_threadpool(
                service.finish_approval, body.approval_id, who.employee_id, body.credential
            )
        except IdentityError as exc:
            return await _refuse(door, who, request_id, exc.reason)
        if proof.request_id != request_id or proof.decision != decision:
            return await _refuse(door, who, request_id, "approval_mismatch")
        act = door.approve if decision == "approve" else door.refuse
        return outcome_response(await run_in_threadpool(act, proof))

    endpoint.__name__ = decision
    return endpoint


for _decision in ("approve", "refuse"):
    router.add_api_route(
        f"/requests/{{request_id}}/{_decision}",
        _finish(_decision),
        methods=["POST"],
        responses=RESPONSES,
        summary=f"{_decision.capitalize()} with the passkey assertion for the approval id",
    )
