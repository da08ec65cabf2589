"""How `/v1` answers: the door comes from the app (a dependency), decisions become bodies or
problem+json, and every route shares one table of documented problem statuses."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse

from custodes.access.api_models import (
    CaseOut,
    DecisionOut,
    MaskedOut,
    OutcomeOut,
    SearchOut,
)
from custodes.access.core import Outcome
from custodes.access.door import Door
from custodes.access.model import Decision, Justification
from custodes.ledger.sequencer import LedgerUnavailable
from custodes.marketplace.models import Case
from custodes.problems import problem, problem_responses
from custodes.vocabulary import Verdict

RESPONSES: dict[int | str, dict[str, Any]] = {
    **problem_responses(400, 401, 403, 404, 409, 410, 422, 503),
    202: {"description": "Pending: waits for an approver (already on the record)"},
}


async def door_of(request: Request) -> Door:
    """Async, so resolving it costs no thread hop on the hot path."""
    return app_door(request)


def app_door(request: Request) -> Door:
    """The app's door; 503 when this server runs without the access service."""
    door: Door | None = request.app.state.door
    if door is None:
        raise LedgerUnavailable("this server runs without the access service")
    return door


TheDoor = Depends(door_of)


def why(code: str, case_id: str | None) -> Justification:
    return Justification(code, case_id)


def decision_out(decision: Decision) -> DecisionOut:
    return DecisionOut(**decision_body(decision))


def decision_body(decision: Decision) -> dict[str, Any]:
    """The hot path's decision body, built directly instead of validating our own model."""
    return {
        "outcome": decision.outcome,
        "reason": decision.reason,
        "action": decision.action,
        "ledger_index": decision.ledger_index,
        "request_id": decision.request_id,
        "checkpoint_size": decision.checkpoint_size,
    }


def refused(decision: Decision) -> JSONResponse:
    """403 for a denial, 202 for a pending request: both are on the record already."""
    out = decision_out(decision).model_dump()
    if decision.outcome == Verdict.PENDING:
        return JSONResponse({"decision": out}, status_code=202)
    status = 404 if decision.reason == "unknown_resource" else 403
    return problem(status, f"{decision.action} {decision.outcome}: {decision.reason}", decision=out)


def search_response(outcome: Outcome) -> Any:
    if not outcome.decision.allowed:
        return refused(outcome.decision)
    return SearchOut(
        decision=decision_out(outcome.decision),
        results=[MaskedOut(**m.__dict__) for m in outcome.data],
    )


def outcome_response(outcome: Outcome) -> Any:
    decision = outcome.decision
    if decision.outcome in (Verdict.DENY, Verdict.PENDING):
        return refused(decision)
    return OutcomeOut(decision=decision_out(decision), result=outcome.data)


def case_out(case: Case) -> CaseOut:
    return CaseOut(
        case_id=case.case_id,
        kind=case.kind,
        assignee=case.employee_id,
        customer_id=case.customer_id,
        seller_id=case.seller_id,
        opened_at=case.opened_at,
        closed_at=case.closed_at,
    )
