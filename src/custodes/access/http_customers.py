"""`/v1/customers` and `/v1/break-glass`: creating customers, masked search, justified reveals
and emergencies. Routes declare; the door and `access.customers` decide."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from custodes.access import customers
from custodes.access.acting import employee, require
from custodes.access.api_answers import (
    RESPONSES,
    TheDoor,
    app_door,
    decision_body,
    outcome_response,
    refused,
    search_response,
    why,
)
from custodes.access.api_models import (
    BreakGlassIn,
    CaseQuery,
    Code,
    CustomerIn,
    MaskedOut,
    OutcomeOut,
    PathId,
    RevealIn,
    RevealOut,
    SearchIn,
    SearchOut,
)
from custodes.access.core import Outcome
from custodes.access.door import Door
from custodes.access.exposure import ExposureHook, TheExposures, hook_of
from custodes.access.model import Justification, Resource
from custodes.access.principal import Principal
from custodes.access.tokens import TokenInfo

router = APIRouter(prefix="/v1", tags=["access"])


@router.post(
    "/customers",
    status_code=201,
    response_model=MaskedOut,
    responses=RESPONSES,
    summary="Store a customer's PII in the vault",
)
def create_customer(
    body: CustomerIn, token: TokenInfo = require("customers:write"), door: Door = TheDoor
) -> MaskedOut:
    spec = customers.NewCustomer(**body.model_dump())
    return MaskedOut(**customers.create_customer(door, token.token_id, spec).__dict__)


@router.post(
    "/customers/search",
    response_model=SearchOut,
    responses=RESPONSES,
    summary="Search by e-mail in the body (kept out of URLs, proxies and access logs)",
)
def search_by_body(
    body: SearchIn,
    who: Principal = employee("customers:read"),
    door: Door = TheDoor,
    hook: ExposureHook | None = TheExposures,
) -> Any:
    justification = why(body.justification, body.case_id)
    outcome = door.search_email(who.employee_id, body.email, justification)
    if hook is not None and outcome.decision.allowed:  # the page's own canaries
        page = hook.search_page(who.employee_id, outcome.decision.ledger_index, outcome.data)
        outcome = Outcome(outcome.decision, page)
    return search_response(outcome)


@router.get(
    "/customers/{customer_id}",
    response_model=SearchOut,
    responses=RESPONSES,
    summary="A customer, masked",
)
def get_customer(
    customer_id: PathId,
    justification: Code = "customer_contact",
    case_id: CaseQuery = None,
    who: Principal = employee("customers:read"),
    door: Door = TheDoor,
) -> Any:
    outcome = door.masked(who.employee_id, customer_id, why(justification, case_id))
    return search_response(outcome)


@router.post(
    "/customers/{customer_id}/reveal",
    response_model=RevealOut,
    responses=RESPONSES,
    summary="Justified, ledgered read of named fields",
)
async def reveal(
    customer_id: PathId,
    body: RevealIn,
    request: Request,
    who: Principal = employee("customers:reveal"),
) -> Any:
    # Served by `access.http_reveal` in front of the router; this route documents it and
    # answers when that path is not installed. Both end in `reveal_answer`.
    return await reveal_answer(request, who, customer_id, body)


async def reveal_answer(
    request: Request, who: Principal, customer_id: str, body: RevealIn
) -> Response:
    """The reveal once the caller is proven and the request is valid."""
    door, hook = app_door(request), hook_of(request.app.state)
    fields, justification = tuple(body.fields), body.justification.to_model()
    employee_id = who.employee_id
    # The hot path stays on the event loop where it can (local SQLite reads, an awaited
    # group commit): a thread hop per request cost more than the work (bench/README.md).
    outcome = None
    if door.inline:
        outcome = await door.reveal_async(employee_id, customer_id, fields, justification)
    if outcome is None:
        outcome = await run_in_threadpool(
            door.reveal, employee_id, customer_id, fields, justification
        )
    if not outcome.decision.allowed:
        return refused(outcome.decision)
    if hook is not None:  # a canary revealed is a hit on the exposure that showed it
        seen = (employee_id, customer_id, outcome.decision.ledger_index)
        if door.inline:
            hook.revealed_one(*seen)  # one indexed local read, like the door's own
        else:
            await run_in_threadpool(hook.revealed_one, *seen)
    return JSONResponse({"decision": decision_body(outcome.decision), "values": outcome.data})


@router.post(
    "/break-glass",
    response_model=OutcomeOut,
    responses=RESPONSES,
    summary="Immediate time-boxed access to one customer; opens a mandatory review",
)
def break_glass(
    body: BreakGlassIn, who: Principal = employee("customers:reveal"), door: Door = TheDoor
) -> Any:
    justification = Justification("break_glass", None, body.reason)
    if not who.proven:  # an emergency is the employee's own call, never a service's
        resource = Resource("customer", (body.customer_id,), ())
        denied = door.record_refusal(who.employee_id, "break_glass", resource, justification)
        return refused(denied.decision)
    return outcome_response(door.break_glass(who.employee_id, body.customer_id, justification))
