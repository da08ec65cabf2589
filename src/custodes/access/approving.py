"""Dual control, second half: an independent approver approves or refuses with their own
WebAuthn assertion over (request digest, approval id, decision). The assertion goes into the
entry, so `audit_approvals` can check it from the ledger alone; one decision per request,
however many approvers race, because the guard is evaluated where entries are sequenced."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import update
from sqlalchemy.orm import Session

from custodes.access import signing
from custodes.access.core import Core, Outcome, stripe
from custodes.access.errors import Conflict, NotFound
from custodes.access.models import AccessRequest, Approval, BreakGlassGrant
from custodes.access.policy import PolicyAnswer
from custodes.access.recording import Record
from custodes.access.requests import approver_context, resource_of
from custodes.errors import InputError
from custodes.ledger.guard import Guard, GuardRefused
from custodes.ledger.sequencer import Receipt
from custodes.marketplace.models import Employee
from custodes.store.engine import rows_changed
from custodes.vocabulary import Verdict

if TYPE_CHECKING:
    from custodes.identity.approvals import ApprovalProof


@dataclass(frozen=True)
class _Seen:
    """The request and the approver as they stood when the decision was taken."""

    request: AccessRequest
    approver: Employee | None
    context: dict[str, str | bool]
    now: datetime

    @property
    def action(self) -> str:
        return f"approve.{self.request.action}"


def decided_once(action: str, request_id: str) -> Guard:
    """An approval or refusal is appended only if the request has neither yet."""
    return Guard("absent", (action,), ("allow", "refused"), None, "request", request_id)


def _seen(core: Core, approver_id: str, request_id: str) -> _Seen:
    now = core.clock()
    with Session(core.engine) as session:
        request = session.get(AccessRequest, request_id)
        if request is None:
            raise NotFound(f"no request {request_id}")
        approver = session.get(Employee, approver_id)
        context = approver_context(session, approver, request.requester_id, now)
    return _Seen(request, approver, context, now)


def _record(core: Core, seen: _Seen, proof: ApprovalProof, outcome: str, reason: str) -> Record:
    resource = resource_of(seen.request)
    return Record(
        proof.approver_id,
        seen.action,
        resource,
        None,
        outcome,
        reason,
        core.facts_for(resource),
        seen.now,
        request_id=seen.request.request_id,
        kind="access.approval",
        actor_known=seen.approver is not None,
        evidence=proof.ledger_extra(),
    )


def _once(core: Core, record: Record, allowed: bool) -> tuple[Record, Receipt]:
    """Record the decision; if another approver's decision was sequenced first, record (and
    answer) `request_decided` instead."""
    try:
        guards = (decided_once(record.action, record.request_id or ""),) if allowed else ()
        return record, core.record(record, guards)
    except GuardRefused:
        record = replace(record, outcome=Verdict.DENY, reason="request_decided", approval=None)
        return record, core.record(record)


def approve(core: Core, proof: ApprovalProof) -> Outcome:
    """Approve with the approver's verified assertion (`identity.finish_approval`)."""
    if proof.decision != "approve":
        raise InputError("this assertion refuses the request; it cannot approve it")
    with stripe(core._deciding, proof.request_id):
        return _approve(core, proof)


def _approval_verdict(seen: _Seen, answer: PolicyAnswer, digest_hex: str) -> tuple[str, str]:
    request = seen.request
    if seen.approver is None:
        return Verdict.DENY, "unknown_employee"
    if not answer.allowed:
        if not seen.context["independent"]:
            return Verdict.DENY, "not_independent"
        return Verdict.DENY, answer.policies[0] if answer.policies else "role_cannot_approve"
    if request.status != "pending":
        return Verdict.DENY, f"request_{request.status}"
    if request.expires_at <= seen.now:
        return Verdict.DENY, "request_expired"
    if digest_hex != request.digest.hex():
        return Verdict.DENY, "request_modified"
    return Verdict.ALLOW, answer.policies[0]


def _approve(core: Core, proof: ApprovalProof) -> Outcome:
    """An independent approver signs an approval bound to the exact request they saw."""
    seen = _seen(core, proof.approver_id, proof.request_id)
    answer = core.policy.evaluate(seen.action, seen.context)
    digest_hex = proof.digest.hex()
    outcome, reason = _approval_verdict(seen, answer, digest_hex)
    record = _record(core, seen, proof, outcome, reason)
    if outcome == Verdict.ALLOW:
        record = replace(record, approval=proof.approval_id)
    record, receipt = _once(core, record, outcome == Verdict.ALLOW)
    decision = core.decided(record, receipt, answer.policies)
    if record.outcome != Verdict.ALLOW:
        return Outcome(decision)
    _store_approval(core, seen, proof, digest_hex)
    return Outcome(decision, {"approval_id": proof.approval_id})


def _store_approval(core: Core, seen: _Seen, proof: ApprovalProof, digest_hex: str) -> None:
    """The server's signed approval, which `execute` verifies before it acts."""
    now, request_id = seen.now, proof.request_id
    payload = signing.ApprovalPayload(
        proof.approval_id,
        request_id,
        digest_hex,
        proof.approver_id,
        now,
        now + core.config.approval_ttl,
    )
    text, signature = signing.sign(core.approval_key, payload)
    with Session(core.engine) as session, session.begin():
        changed = rows_changed(
            session.execute(
                update(AccessRequest)
                .where(AccessRequest.request_id == request_id, AccessRequest.status == "pending")
                .values(status="approved", decided_at=now)
            )
        )
        if not changed:
            raise Conflict(f"request {request_id} was decided concurrently")
        session.add(
            Approval(
                approval_id=proof.approval_id,
                request_id=request_id,
                approver_id=proof.approver_id,
                payload=text,
                signature=signature,
                created_at=now,
                expires_at=payload.expires_at,
            )
        )


def refuse(core: Core, proof: ApprovalProof) -> Outcome:
    """Refuse with the approver's verified assertion over (digest, approval id, "refuse");
    recorded like an approval, assertion included."""
    if proof.decision != "refuse":
        raise InputError("this assertion approves the request; it cannot refuse it")
    with stripe(core._deciding, proof.request_id):
        return _refuse(core, proof)


def _refuse(core: Core, proof: ApprovalProof) -> Outcome:
    seen = _seen(core, proof.approver_id, proof.request_id)
    request = seen.request
    allowed = core.policy.evaluate(seen.action, seen.context).allowed
    allowed = allowed and request.status == "pending"
    outcome, reason = (
        (Verdict.REFUSED, "refused_by_approver")
        if allowed
        else (
            Verdict.DENY,
            "cannot_decide",
        )
    )
    if allowed and proof.digest != request.digest:
        allowed, outcome, reason = False, Verdict.DENY, "request_modified"
    record, receipt = _once(core, _record(core, seen, proof, outcome, reason), allowed)
    if record.outcome == Verdict.REFUSED:
        _end_refused(core, request.request_id, seen.now)
    return Outcome(core.decided(record, receipt))


def _end_refused(core: Core, request_id: str, now: datetime) -> None:
    with Session(core.engine) as session, session.begin():
        session.execute(
            update(AccessRequest)
            .where(AccessRequest.request_id == request_id)
            .values(status="refused", decided_at=now)
        )
        # A refused break-glass review ends the grant it reviews, at once.
        session.execute(
            update(BreakGlassGrant)
            .where(
                BreakGlassGrant.review_request_id == request_id, BreakGlassGrant.expires_at > now
            )
            .values(expires_at=now)
        )
