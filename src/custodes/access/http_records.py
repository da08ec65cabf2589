"""`/v1` reads of non-PII records (orders, reviews, sellers, seller metrics) and of the
ledgered decisions about a subject."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from custodes.access.acting import employee, require
from custodes.access.api_answers import RESPONSES, TheDoor, outcome_response, why
from custodes.access.api_models import CaseQuery, Code, OutcomeOut, PathId
from custodes.access.door import Door
from custodes.access.principal import Principal
from custodes.access.tokens import TokenInfo
from custodes.ledger.models import LedgerAccessIndex

router = APIRouter(prefix="/v1", tags=["access"])

RECORD_VIEWS = (
    ("/orders/{record_id}", "order.view"),
    ("/reviews/{record_id}", "review.view"),
    ("/sellers/{record_id}", "seller.view"),
    ("/sellers/{record_id}/metrics", "seller.metrics"),
)


def _record_endpoint(action: str) -> Callable[..., Any]:
    def endpoint(
        record_id: PathId,
        justification: Code = "customer_contact",
        case_id: CaseQuery = None,
        who: Principal = employee("records:read"),
        door: Door = TheDoor,
    ) -> Any:
        outcome = door.view(who.employee_id, action, record_id, why(justification, case_id))
        return outcome_response(outcome)

    endpoint.__name__ = action.replace(".", "_")
    return endpoint


for _path, _action in RECORD_VIEWS:
    router.add_api_route(
        _path,
        _record_endpoint(_action),
        methods=["GET"],
        response_model=OutcomeOut,
        responses=RESPONSES,
        summary=f"{_action} (no PII)",
    )


@router.get("/decisions", responses=RESPONSES, summary="Ledgered decisions about a subject")
def decisions(
    request: Request,
    subject_kind: Literal["customer", "seller", "order", "review"] = "customer",
    subject_id: Annotated[str, Query(min_length=1, max_length=64)] = "",
    actor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    _: TokenInfo = require("decisions:read"),
) -> list[dict[str, Any]]:
    query = select(LedgerAccessIndex).order_by(LedgerAccessIndex.idx.desc()).limit(limit)
    if subject_id:
        query = query.where(
            LedgerAccessIndex.subject_kind == subject_kind,
            LedgerAccessIndex.subject_id == subject_id,
        )
    if actor:
        query = query.where(LedgerAccessIndex.actor == actor)
    with Session(request.app.state.engine) as session:
        rows = session.scalars(query).all()
    return [
        {
            "ledger_index": r.idx,
            "actor": r.actor,
            "action": r.action,
            "decision": r.decision,
            "time": r.time,
            "subject_kind": r.subject_kind,
            "subject_id": r.subject_id,
        }
        for r in rows
    ]
