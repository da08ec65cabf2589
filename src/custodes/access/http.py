"""`/v1`: the HTTP face of the one door. Services call with a scoped token, acting for an
employee who proves who they are (an ID token or a session; legacy tokens may assert a name for
reads, see `access.principal`). Every outcome is a ledgered decision; errors are RFC 9457
problem+json."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from custodes.access.acting import MissingScope, Unauthenticated, employee, require
from custodes.access.approvals_api import approvals_router
from custodes.access.cases import CaseSpec
from custodes.access.cases import close_case as close_case_service
from custodes.access.cases import open_case as open_case_service
from custodes.access.door import Conflict, Door, Forbidden, NotFound, Outcome
from custodes.access.exposure import hook_of
from custodes.access.model import (
    JUSTIFICATIONS,
    PII_FIELDS,
    REVEALING,
    Decision,
    Justification,
    Resource,
)
from custodes.access.policy_store import propose_policy
from custodes.access.principal import Principal
from custodes.access.tokens import TokenInfo
from custodes.errors import ConfigError, InputError
from custodes.ledger.entry import LedgerEntry
from custodes.ledger.errors import FormatError
from custodes.ledger.models import LedgerAccessIndex
from custodes.ledger.sequencer import LedgerUnavailable
from custodes.marketplace.models import CASE_KINDS, Case, Customer
from custodes.problems import problem, problem_responses
from custodes.vault.errors import ShreddedError
from custodes.vault.service import CustomerPII, insert_prepared, masked_view, prepare_customer

ID_CHARS = r"^[A-Za-z0-9_.:-]+$"  # the same ids `access.model.ID_PATTERN` accepts (1-64 chars)
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=ID_CHARS)]
PathId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_CHARS)]
CaseQuery = Annotated[str | None, Query(min_length=1, max_length=64, pattern=ID_CHARS)]
# The schema's enums come from the model's tuples, so the API cannot drift from the policy.
Code = Literal[JUSTIFICATIONS]  # type: ignore[valid-type]
Field_ = Literal[PII_FIELDS]  # type: ignore[valid-type]
CaseKind = Literal[CASE_KINDS]  # type: ignore[valid-type]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class JustificationIn(Strict):
    code: Code
    case_id: Id | None = None
    text: Annotated[str, Field(max_length=1000)] = ""

    def to_model(self) -> Justification:
        return Justification(self.code, self.case_id, self.text)


class RevealIn(Strict):
    fields: Annotated[list[Field_], Field(min_length=1, max_length=4)]
    justification: JustificationIn


class DecisionOut(BaseModel):
    outcome: str
    reason: str
    action: str
    ledger_index: int | None
    request_id: str | None = None
    checkpoint_size: int | None = Field(
        None, description="Size of the signed checkpoint that covers ledger_index (the receipt)"
    )


class RevealOut(BaseModel):
    decision: DecisionOut
    values: dict[str, str | None]


class MaskedOut(BaseModel):
    customer_id: str
    pseudonym: str
    name: str | None
    email: str | None
    phone: str | None
    erased: bool


class SearchOut(BaseModel):
    decision: DecisionOut
    results: list[MaskedOut]


class SearchIn(Strict):
    email: Annotated[str, Field(min_length=3, max_length=254)]
    justification: Code = "customer_contact"
    case_id: Id | None = None


class CustomerIn(Strict):
    customer_id: Id
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    email: Annotated[str, Field(max_length=254)] | None = None
    phone: Annotated[str, Field(max_length=32)] | None = None
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None
    region: Annotated[str, Field(max_length=32)] | None = None
    language: Annotated[str, Field(max_length=16)] | None = None


class CaseIn(Strict):
    case_id: Id
    kind: CaseKind
    assignee: Id
    customer_id: Id | None = None
    seller_id: Id | None = None


class CaseOut(BaseModel):
    case_id: str
    kind: str
    assignee: str
    customer_id: str | None
    seller_id: str | None
    opened_at: datetime
    closed_at: datetime | None


class ResourceIn(Strict):
    kind: Literal["customer", "review", "seller"]
    ids: Annotated[list[Id], Field(min_length=1, max_length=10_000)]
    fields: Annotated[list[Field_], Field(max_length=4)] = []


class RequestIn(Strict):
    action: Literal["review.delete", "seller.reinstate", "customer.export"]
    resource: ResourceIn
    justification: JustificationIn


class PolicyIn(Strict):
    text: Annotated[str, Field(min_length=1, max_length=200_000)]


class BreakGlassIn(Strict):
    customer_id: Id
    reason: Annotated[str, Field(min_length=10, max_length=1000)]


class OutcomeOut(BaseModel):
    decision: DecisionOut
    result: dict[str, Any] | None = None


def _decision_out(decision: Decision) -> DecisionOut:
    return DecisionOut(
        outcome=decision.outcome,
        reason=decision.reason,
        action=decision.action,
        ledger_index=decision.ledger_index,
        request_id=decision.request_id,
        checkpoint_size=decision.checkpoint_size,
    )


def _refused(decision: Decision) -> JSONResponse:
    """403 for a denial, 202 for a pending request: both are on the record already."""
    out = _decision_out(decision).model_dump()
    if decision.outcome == "pending":
        return JSONResponse({"decision": out}, status_code=202)
    status = 404 if decision.reason == "unknown_resource" else 403
    return problem(status, f"{decision.action} {decision.outcome}: {decision.reason}", decision=out)


_Unauthorized = Unauthenticated
_Forbidden = MissingScope


def _door(request: Request) -> Door:
    door = request.app.state.door
    if door is None:
        raise LedgerUnavailable("this server runs without the access service")
    return door


def _why(code: str, case_id: str | None) -> Justification:
    return Justification(code, case_id)


def access_router() -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["access"])
    responses: dict[int | str, dict[str, Any]] = {
        **problem_responses(400, 401, 403, 404, 409, 410, 422, 503),
        202: {"description": "Pending: waits for an approver (already on the record)"},
    }

    @router.post(
        "/customers",
        status_code=201,
        response_model=MaskedOut,
        responses=responses,
        summary="Store a customer's PII in the vault",
    )
    def create_customer(
        body: CustomerIn, request: Request, token: TokenInfo = require("customers:write")
    ) -> MaskedOut:
        door = _door(request)
        if body.email is None and body.phone is None:
            raise InputError("a customer needs an email or a phone")
        pii = CustomerPII(name=body.name, email=body.email, phone=body.phone)
        prepared = prepare_customer(door.keyring, body.customer_id, pii, body.country)
        engine = request.app.state.engine
        with Session(engine) as session:
            if session.get(Customer, body.customer_id) is not None:
                raise Conflict(f"customer {body.customer_id} already exists")
        # On the record first: if the ledger cannot record the write, nothing is stored.
        door.ledger.append(
            LedgerEntry(
                time=datetime.now(UTC),
                actor=f"svc:{token.name}",
                action="customer.create",
                decision="recorded",
                resources=[f"customer:{prepared.pseudonym}"],
                kind="vault.write",
            ).encode()
        )
        try:
            with Session(engine) as session, session.begin():
                session.add(
                    Customer(
                        customer_id=body.customer_id,
                        pseudonym=prepared.pseudonym,
                        country=body.country,
                        region=body.region,
                        language=body.language,
                        created_at=datetime.now(UTC),
                    )
                )
                session.flush()
                insert_prepared(session, [prepared])
        except IntegrityError:
            raise Conflict(f"customer {body.customer_id} already exists") from None
        with Session(request.app.state.engine) as session:
            return MaskedOut(**masked_view(session, [body.customer_id])[0].__dict__)

    @router.post(
        "/customers/search",
        response_model=SearchOut,
        responses=responses,
        summary="Search by e-mail in the body (kept out of URLs, proxies and access logs)",
    )
    def search_by_body(
        request: Request,
        body: SearchIn,
        who: Principal = employee("customers:read"),
    ) -> Any:
        why = _why(body.justification, body.case_id)
        outcome = _door(request).search_email(who.employee_id, body.email, why)
        if (hook := hook_of(request.app.state)) and outcome.decision.allowed:  # canaries
            page = hook.search_page(who.employee_id, outcome.decision.ledger_index, outcome.data)
            outcome = Outcome(outcome.decision, page)
        return _search_response(outcome)

    @router.get(
        "/customers/{customer_id}",
        response_model=SearchOut,
        responses=responses,
        summary="A customer, masked",
    )
    def get_customer(
        request: Request,
        customer_id: PathId,
        justification: Code = "customer_contact",
        case_id: CaseQuery = None,
        who: Principal = employee("customers:read"),
    ) -> Any:
        outcome = _door(request).masked(who.employee_id, customer_id, _why(justification, case_id))
        return _search_response(outcome)

    @router.post(
        "/customers/{customer_id}/reveal",
        response_model=RevealOut,
        responses=responses,
        summary="Justified, ledgered read of named fields",
    )
    async def reveal(
        request: Request,
        customer_id: PathId,
        body: RevealIn,
        who: Principal = employee("customers:reveal"),
    ) -> Any:
        door = _door(request)
        fields, why = tuple(body.fields), body.justification.to_model()
        employee_id = who.employee_id
        # The hot path stays on the event loop where it can (local SQLite reads, an awaited
        # group commit): a thread hop per request cost more than the work (bench/README.md).
        outcome = None
        if door.inline:
            outcome = await door.reveal_async(employee_id, customer_id, fields, why)
        if outcome is None:
            outcome = await run_in_threadpool(door.reveal, employee_id, customer_id, fields, why)
        if not outcome.decision.allowed:
            return _refused(outcome.decision)
        # The hot path: build the JSON directly instead of validating our own model again.
        decision = outcome.decision
        if hook := hook_of(request.app.state):  # a canary revealed is a hit on its exposure
            seen = (employee_id, customer_id, decision.ledger_index)
            if door.inline:
                hook.revealed_one(*seen)  # one indexed local read, like the door's own
            else:
                await run_in_threadpool(hook.revealed_one, *seen)
        return JSONResponse(
            {
                "decision": {
                    "outcome": decision.outcome,
                    "reason": decision.reason,
                    "action": decision.action,
                    "ledger_index": decision.ledger_index,
                    "request_id": decision.request_id,
                    "checkpoint_size": decision.checkpoint_size,
                },
                "values": outcome.data,
            }
        )

    @router.post(
        "/break-glass",
        response_model=OutcomeOut,
        responses=responses,
        summary="Immediate time-boxed access to one customer; opens a mandatory review",
    )
    def break_glass(
        request: Request,
        body: BreakGlassIn,
        who: Principal = employee("customers:reveal"),
    ) -> Any:
        door = _door(request)
        why = Justification("break_glass", None, body.reason)
        if not who.proven:  # an emergency is the employee's own call, never a service's
            resource = Resource("customer", (body.customer_id,), ())
            refused = door.record_refusal(who.employee_id, "break_glass", resource, why)
            return _refused(refused.decision)
        return _outcome_response(door.break_glass(who.employee_id, body.customer_id, why))

    for path, action in (
        ("/orders/{record_id}", "order.view"),
        ("/reviews/{record_id}", "review.view"),
        ("/sellers/{record_id}", "seller.view"),
        ("/sellers/{record_id}/metrics", "seller.metrics"),
    ):
        router.add_api_route(
            path,
            _record_endpoint(action),
            methods=["GET"],
            response_model=OutcomeOut,
            responses=responses,
            summary=f"{action} (no PII)",
        )

    @router.post(
        "/cases",
        status_code=201,
        response_model=CaseOut,
        responses=responses,
        summary="Open a case (assigns an employee to a customer and/or seller)",
    )
    def open_case(
        body: CaseIn, request: Request, who: Principal = employee("cases:write")
    ) -> CaseOut:
        """Who may open which kind for whom is `access.cases`' rule; every attempt is recorded.
        Only on the employee's own proof: a service's word opens no case."""
        spec = CaseSpec(body.case_id, body.kind, body.assignee, body.customer_id, body.seller_id)
        return _case_out(open_case_service(_door(request), who.employee_id, spec, who.proven))

    @router.get("/cases/{case_id}", response_model=CaseOut, responses=responses)
    def get_case(
        case_id: PathId, request: Request, _: TokenInfo = require("cases:write")
    ) -> CaseOut:
        with Session(request.app.state.engine) as session:
            case = session.get(Case, case_id)
            if case is None:
                raise NotFound(f"no case {case_id}")
            return _case_out(case)

    @router.post("/cases/{case_id}/close", response_model=CaseOut, responses=responses)
    def close_case(
        case_id: PathId,
        request: Request,
        who: Principal = employee("cases:write"),
    ) -> CaseOut:
        """Closed by its assignee, someone above them, or a privacy officer; recorded first."""
        return _case_out(close_case_service(_door(request), who.employee_id, case_id))

    @router.post(
        "/requests",
        status_code=202,
        response_model=OutcomeOut,
        responses=responses,
        summary="Request a sensitive action (waits for a second person)",
    )
    def create_request(
        body: RequestIn,
        request: Request,
        who: Principal = employee("requests:write"),
    ) -> Any:
        """The requester's own proof is required and recorded with the request (who, and the
        service token that carried them); executing needs it again."""
        door = _door(request)
        resource = Resource(
            body.resource.kind, tuple(body.resource.ids), tuple(body.resource.fields)
        )
        why = body.justification.to_model()
        if not who.proven:
            refused = door.record_refusal(who.employee_id, body.action, resource, why)
            return _refused(refused.decision)
        return _outcome_response(door.request(who.employee_id, body.action, resource, why))

    @router.post(
        "/policy",
        status_code=202,
        response_model=OutcomeOut,
        responses=responses,
        summary="Propose a Cedar policy (schema-validated); applied only under dual control",
    )
    def propose(
        body: PolicyIn,
        request: Request,
        who: Principal = employee("requests:write"),
    ) -> Any:
        if not who.proven:  # a proposal is a request: the proposer's own proof, recorded
            sha = hashlib.sha256(body.text.encode()).hexdigest()
            why = Justification("legal", None, "policy change")
            door = _door(request)
            resource = Resource("policy", (sha,))
            refused = door.record_refusal(who.employee_id, "policy.apply", resource, why)
            return _refused(refused.decision)
        try:
            outcome = propose_policy(_door(request), body.text, who.employee_id)
        except ConfigError as exc:  # the text does not parse or validate: the caller's to fix
            raise InputError(str(exc)) from None
        return _outcome_response(outcome)

    @router.get("/requests/{request_id}", responses=responses, summary="Masked preview")
    def preview(
        request_id: PathId, request: Request, _: TokenInfo = require("approvals:write")
    ) -> dict[str, Any]:
        return _door(request).preview(request_id)

    @router.post("/requests/{request_id}/execute", response_model=OutcomeOut, responses=responses)
    def execute(
        request_id: PathId,
        request: Request,
        who: Principal = employee("requests:write"),
    ) -> Any:
        """Only the requester, on their own proof again (never a service's word)."""
        door = _door(request)
        token = who.token
        assert token is not None
        # Executing a reveal or an export hands out PII: the same scope as a direct reveal.
        if "customers:reveal" not in token.scopes and door.request_action(request_id) in REVEALING:
            raise _Forbidden("this request returns customer data: the token lacks customers:reveal")
        if not who.proven:
            subject = door.request_subject(request_id)
            if subject is None:
                raise NotFound(f"no request {request_id}")
            action, resource, why = subject
            refused = door.record_refusal(who.employee_id, action, resource, why, request_id)
            return _refused(refused.decision)
        outcome = door.execute(who.employee_id, request_id)
        if (hook := hook_of(request.app.state)) and isinstance(outcome.data, dict):  # canaries
            d = outcome.decision
            data = hook.revealed_set(
                who.employee_id, d.action, d.ledger_index, request_id, outcome.data
            )
            outcome = Outcome(d, data)
        return _outcome_response(outcome)

    @router.get("/decisions", responses=responses, summary="Ledgered decisions about a subject")
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

    router.include_router(approvals_router(responses))
    return router


def _record_endpoint(action: str) -> Any:
    def endpoint(
        request: Request,
        record_id: PathId,
        justification: Code = "customer_contact",
        case_id: CaseQuery = None,
        who: Principal = employee("records:read"),
    ) -> Any:
        why = _why(justification, case_id)
        outcome = _door(request).view(who.employee_id, action, record_id, why)
        return _outcome_response(outcome)

    endpoint.__name__ = action.replace(".", "_")
    return endpoint


def _search_response(outcome: Outcome) -> Any:
    if not outcome.decision.allowed:
        return _refused(outcome.decision)
    return SearchOut(
        decision=_decision_out(outcome.decision),
        results=[MaskedOut(**m.__dict__) for m in outcome.data],
    )


def _outcome_response(outcome: Outcome) -> Any:
    decision = outcome.decision
    if decision.outcome in ("deny", "pending"):
        return _refused(decision)
    return OutcomeOut(decision=_decision_out(decision), result=outcome.data)


def _case_out(case: Case) -> CaseOut:
    return CaseOut(
        case_id=case.case_id,
        kind=case.kind,
        assignee=case.employee_id,
        customer_id=case.customer_id,
        seller_id=case.seller_id,
        opened_at=case.opened_at,
        closed_at=case.closed_at,
    )


def install_access_errors(app: Any) -> None:
    """Map the door's exceptions to problem+json statuses."""

    handlers: list[tuple[type[BaseException], int]] = [
        (_Unauthorized, 401),
        (_Forbidden, 403),
        (Forbidden, 403),
        (NotFound, 404),
        (Conflict, 409),
        (ShreddedError, 410),
        (FormatError, 400),
        (LedgerUnavailable, 503),
    ]
    for exc_type, status in handlers:
        app.add_exception_handler(exc_type, _handler(status))


def _handler(status: int) -> Any:
    async def handle(_: Request, exc: Exception) -> JSONResponse:
        detail = str(exc) if status != 503 else "the ledger could not record; nothing was revealed"
        response = problem(status, detail)
        if status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    return handle


__all__ = ["access_router", "install_access_errors"]
