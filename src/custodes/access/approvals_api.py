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

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from custodes.access.acting import employee
from custodes.access.door import Door, NotFound, Outcome
from custodes.access.principal import Principal
from custodes.ledger.sequencer import LedgerUnavailable
from custodes.problems import problem

ID_CHARS = r"^[A-Za-z0-9_.:-]+$"
PathId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_CHARS)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApprovalStartIn(_Strict):
    decision: Literal["approve", "refuse"]
    digest: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="The digest you saw")]


class ApprovalStartOut(BaseModel):
    approval_id: str
    options: dict[str, Any] = Field(
        description="PublicKeyCredentialRequestOptions for navigator.credentials.get"
    )


class ApprovalFinishIn(_Strict):
    approval_id: Annotated[str, Field(min_length=1, max_length=64, pattern=ID_CHARS)]
    credential: Annotated[
        dict[str, Any], Field(description="The PublicKeyCredential (JSON) the browser returned")
    ]


def _door(request: Request) -> Door:
    door = request.app.state.door
    if door is None:
        raise LedgerUnavailable("this server runs without the access service")
    return door


def _denied(outcome: Outcome) -> JSONResponse:
    decision = outcome.decision
    body = {
        "outcome": decision.outcome,
        "reason": decision.reason,
        "action": decision.action,
        "ledger_index": decision.ledger_index,
        "request_id": decision.request_id,
        "checkpoint_size": decision.checkpoint_size,
    }
    return problem(403, f"{decision.action} deny: {decision.reason}", decision=body)


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
    return _denied(outcome)


def approvals_router(responses: dict[int | str, dict[str, Any]]) -> APIRouter:
    router = APIRouter()

    @router.post(
        "/requests/{request_id}/approval",
        response_model=ApprovalStartOut,
        responses=responses,
        summary="Start approving or refusing: a WebAuthn challenge over digest, id and decision",
    )
    async def start(
        request_id: PathId,
        body: ApprovalStartIn,
        request: Request,
        who: Principal = employee("approvals:write"),
    ) -> Any:
        from custodes.identity.errors import IdentityError

        door = _door(request)
        if not who.proven:
            return await _refuse(door, who, request_id, "own_proof_required")
        preview = await run_in_threadpool(door.preview, request_id)  # NotFound if unknown
        if preview["digest"] != body.digest:
            return await _refuse(door, who, request_id, "request_modified")
        service = request.app.state.identity
        try:
            options = await run_in_threadpool(
                service.begin_approval,
                who.employee_id,
                request_id,
                bytes.fromhex(body.digest),
                body.decision,
            )
        except IdentityError as exc:
            return await _refuse(door, who, request_id, exc.reason)
        return ApprovalStartOut(
            approval_id=options.challenge_id, options=json.loads(options.options_json)
        )

    def finish(decision: Literal["approve", "refuse"]) -> Any:
        async def endpoint(
            request_id: PathId,
            body: ApprovalFinishIn,
            request: Request,
            who: Principal = employee("approvals:write"),
        ) -> Any:
            from custodes.access.http import _outcome_response
            from custodes.identity.errors import IdentityError

            door = _door(request)
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
            return _outcome_response(await run_in_threadpool(act, proof))

        endpoint.__name__ = decision
        return endpoint

    for decision in ("approve", "refuse"):
        router.add_api_route(
            f"/requests/{{request_id}}/{decision}",
            finish(decision),  # type: ignore[arg-type]
            methods=["POST"],
            responses=responses,
            summary=f"{decision.capitalize()} with the passkey assertion for the approval id",
        )
    return router


__all__ = ["approvals_router"]
