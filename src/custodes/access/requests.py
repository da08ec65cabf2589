"""Dual control, first half: a sensitive action becomes a pending request that an independent
approver sees (masked), and that expires on the record if nobody decides it in time."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from custodes.access import signing
from custodes.access.core import Core, Outcome
from custodes.access.errors import NotFound
from custodes.access.facts import employee_active, independent
from custodes.access.judging import Ask, decide_and_record
from custodes.access.model import (
    DUAL_CONTROL,
    RESOURCE_KINDS,
    REVEALING,
    Decision,
    Justification,
    Resource,
    new_id,
)
from custodes.access.models import AccessRequest
from custodes.access.recording import CHANGES_RECORDS, MAX_CHANGED_RECORDS, Record
from custodes.errors import InputError
from custodes.ledger.guard import Guard, GuardRefused
from custodes.marketplace.models import Employee
from custodes.vault.service import masked_view
from custodes.vocabulary import Verdict

log = logging.getLogger(__name__)
MAX_NOTIFIED = 20  # approvers told of one request


def request(core: Core, ask: Ask) -> Outcome:
    """Ask for a sensitive action; it waits for an independent approver."""
    action, resource = ask.action, ask.resource
    if action not in DUAL_CONTROL:
        raise InputError(f"{action} does not need a request; call it directly")
    if resource.kind != RESOURCE_KINDS[action]:
        raise InputError(f"{action} acts on {RESOURCE_KINDS[action]} records")
    if action in REVEALING and not resource.fields:
        raise InputError(f"{action} returns customer data: name the fields it returns")
    if action in CHANGES_RECORDS and len(resource.ids) > MAX_CHANGED_RECORDS:
        raise InputError(f"{action} changes at most {MAX_CHANGED_RECORDS} records per request")
    decision, _ = decide_and_record(core, ask)
    if decision.outcome != Verdict.PENDING:
        return Outcome(decision)
    return Outcome(replace(decision, request_id=create_request(core, ask, decision)))


def create_request(core: Core, ask: Ask, decision: Decision) -> str:
    now = core.clock()
    request_id = new_id("rq")
    resource, why = ask.resource, ask.why
    resource_json = json.dumps(
        {"kind": resource.kind, "ids": list(resource.ids), "fields": list(resource.fields)},
        sort_keys=True,
    )
    why_json = json.dumps(
        {"code": why.code, "case_id": why.case_id, "text": why.text}, sort_keys=True
    )
    digest = signing.request_digest(
        request_id, ask.employee_id, ask.action, resource_json, why_json
    )
    with Session(core.engine) as session, session.begin():
        session.add(
            AccessRequest(
                request_id=request_id,
                requester_id=ask.employee_id,
                action=ask.action,
                resource=resource_json,
                justification=why_json,
                digest=digest,
                status="pending",
                reason=decision.reason,
                created_at=now,
                expires_at=now + core.config.request_ttl,
                ledger_index=decision.ledger_index,
            )
        )
    _notify_approvers(core, request_id, ask, digest)
    return request_id


def _eligible_approvers(core: Core, action: str, requester: str) -> list[str]:
    eligible: list[str] = []
    now = core.clock()
    with Session(core.engine) as session:
        for employee in session.scalars(select(Employee).order_by(Employee.employee_id)):
            if employee.employee_id == requester:
                continue
            context = approver_context(session, employee, requester, now)
            if core.policy.evaluate(f"approve.{action}", context).allowed:
                eligible.append(employee.employee_id)
            if len(eligible) >= MAX_NOTIFIED:
                break
    return eligible


def _notify_approvers(core: Core, request_id: str, ask: Ask, digest: bytes) -> None:
    eligible = _eligible_approvers(core, ask.action, ask.employee_id)
    if not eligible:
        log.warning("no eligible approver for request %s (%s)", request_id, ask.action)
        return
    body = (
        f"Request {request_id} by {ask.employee_id} waits for your decision.\n"
        f"Action: {ask.action}\nResource: {ask.resource.kind} x{len(ask.resource.ids)}\n"
        f"Digest: {digest.hex()}\nReview the masked preview in the console.\n"
    )
    try:
        core.notifier.notify(
            [f"{e}@staff.invalid" for e in eligible], f"[custodes] approve {ask.action}?", body
        )
    except OSError as exc:  # notification is best effort; the request still waits
        log.warning("could not notify approvers of %s: %s", request_id, type(exc).__name__)


def request_action(core: Core, request_id: str) -> str | None:
    """The action a request asks for (None if there is no such request)."""
    with Session(core.engine) as session:
        return session.scalar(
            select(AccessRequest.action).where(AccessRequest.request_id == request_id)
        )


def preview(core: Core, request_id: str) -> dict[str, Any]:
    """What an approver sees: the request and masked customer data, never plaintext."""
    with Session(core.engine) as session:
        request = session.get(AccessRequest, request_id)
        if request is None:
            raise NotFound(f"no request {request_id}")
        resource = json.loads(request.resource)
        masked = []
        if resource["kind"] == "customer":
            masked = [m.__dict__ for m in masked_view(session, resource["ids"][:50])]
        return {
            "request_id": request.request_id,
            "requester": request.requester_id,
            "action": request.action,
            "resource": resource,
            "justification": json.loads(request.justification),
            "status": request.status,
            "reason": request.reason,
            "digest": request.digest.hex(),
            "created_at": request.created_at,
            "expires_at": request.expires_at,
            "masked_preview": masked,
        }


def request_subject(core: Core, request_id: str) -> tuple[str, Resource, Justification] | None:
    """A request's action, resource and justification (None if there is no such request)."""
    with Session(core.engine) as session:
        request = session.get(AccessRequest, request_id)
        if request is None:
            return None
        why = Justification(**json.loads(request.justification))
        return request.action, resource_of(request), why


def expire(core: Core) -> int:
    """Mark pending requests past their deadline as expired, each on the record."""
    now = core.clock()
    with Session(core.engine) as session:
        due = list(
            session.scalars(
                select(AccessRequest).where(
                    AccessRequest.status == "pending", AccessRequest.expires_at <= now
                )
            )
        )
    return sum(_expire_one(core, request, now) for request in due)


def _expire_one(core: Core, request: AccessRequest, now: datetime) -> bool:
    resource = resource_of(request)
    # Once per request, however many workers run this loop; and not after a decision.
    once = Guard(
        "absent",
        (request.action, f"approve.{request.action}"),
        ("expired", "allow", "refused"),
        None,
        "request",
        request.request_id,
    )
    record = Record(
        request.requester_id,
        request.action,
        resource,
        None,
        Verdict.EXPIRED,
        "deadline",
        core.facts_for(resource),
        now,
        request_id=request.request_id,
        actor_known=True,
    )
    try:
        core.record(record, (once,))
    except GuardRefused:
        return False
    with Session(core.engine) as session, session.begin():
        session.execute(
            update(AccessRequest)
            .where(
                AccessRequest.request_id == request.request_id, AccessRequest.status == "pending"
            )
            .values(status="expired", decided_at=now)
        )
    return True


def approver_context(
    session: Session, approver: Employee | None, requester_id: str, now: datetime
) -> dict[str, str | bool]:
    """The policy context of someone deciding on another's request."""
    return {
        "role": approver.role if approver else "",
        "active": bool(approver and employee_active(approver, now)),
        "justification": "legal",
        "case_open": False,
        "case_kind": "",
        "case_covers_customer": False,
        "case_covers_seller": False,
        "case_covers_review": False,
        "contact_fields_only": True,
        "break_glass_active": False,
        "independent": bool(approver and independent(session, approver.employee_id, requester_id)),
    }


def resource_of(request: AccessRequest) -> Resource:
    raw = json.loads(request.resource)
    return Resource(raw["kind"], tuple(raw["ids"]), tuple(raw["fields"]))
