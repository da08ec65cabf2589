"""`/v1/cases`: opening, reading and closing cases. Who may open which kind for whom, and who
may close, is `access.cases`' rule; every attempt is recorded."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session

from custodes.access import cases
from custodes.access.acting import employee, require
from custodes.access.api_answers import RESPONSES, TheDoor, case_out
from custodes.access.api_models import CaseIn, CaseOut, PathId
from custodes.access.door import Door
from custodes.access.errors import NotFound
from custodes.access.principal import Principal
from custodes.access.tokens import TokenInfo
from custodes.marketplace.models import Case

router = APIRouter(prefix="/v1", tags=["access"])


@router.post(
    "/cases",
    status_code=201,
    response_model=CaseOut,
    responses=RESPONSES,
    summary="Open a case (assigns an employee to a customer and/or seller)",
)
def open_case(
    body: CaseIn, who: Principal = employee("cases:write"), door: Door = TheDoor
) -> CaseOut:
    """Who may open which kind for whom is `access.cases`' rule; every attempt is recorded.
    Only on the employee's own proof: a service's word opens no case."""
    spec = cases.CaseSpec(body.case_id, body.kind, body.assignee, body.customer_id, body.seller_id)
    return case_out(cases.open_case(door, who.employee_id, spec, who.proven))


@router.get("/cases/{case_id}", response_model=CaseOut, responses=RESPONSES)
def get_case(case_id: PathId, request: Request, _: TokenInfo = require("cases:write")) -> CaseOut:
    with Session(request.app.state.engine) as session:
        case = session.get(Case, case_id)
        if case is None:
            raise NotFound(f"no case {case_id}")
        return case_out(case)


@router.post("/cases/{case_id}/close", response_model=CaseOut, responses=RESPONSES)
def close_case(
    case_id: PathId, who: Principal = employee("cases:write"), door: Door = TheDoor
) -> CaseOut:
    """Closed by its assignee, someone above them, or a privacy officer; recorded first.
    Only on the employee's own proof: a service's word closes no case."""
    return case_out(cases.close_case(door, who.employee_id, case_id, who.proven))
