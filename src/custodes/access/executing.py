"""Dual control, last step: the requester executes an approved request once. The server's
signed approval is verified and used, facts and policy are checked again (a suspended requester
cannot execute), the execution is recorded, and only then does the action happen."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from custodes.access import signing
from custodes.access.core import Core, Outcome, stripe
from custodes.access.errors import Conflict, NotFound
from custodes.access.judging import Ask, decide_and_record
from custodes.access.model import REVEALING, Decision, Justification, Resource
from custodes.access.models import AccessRequest, Approval, PolicyProposal, PolicyVersion
from custodes.access.reads import decrypt
from custodes.access.recording import Record
from custodes.access.requests import resource_of
from custodes.marketplace.writes import reinstate_sellers, remove_reviews
from custodes.store.engine import rows_changed
from custodes.vault.errors import ShreddedError
from custodes.vocabulary import Verdict


def execute(core: Core, employee_id: str, request_id: str) -> Outcome:
    with stripe(core._deciding, request_id):
        return _execute(core, employee_id, request_id)


def _execute(core: Core, employee_id: str, request_id: str) -> Outcome:
    """Carry out an approved request once: verify the signed approval, use it, act, record."""
    now = core.clock()
    with Session(core.engine) as session:
        request = session.get(AccessRequest, request_id)
        if request is None or request.requester_id != employee_id:
            raise NotFound(f"no request {request_id} of yours")
        approval = session.scalar(select(Approval).where(Approval.request_id == request_id))
        resource = resource_of(request)
        why = Justification(**json.loads(request.justification))
        problem = approval_problem(core.approval_key, request, approval, now)
    if problem or approval is None:
        return core.refusal(
            _record(core, employee_id, request, why, now, problem or "not_approved")
        )
    # Facts and policy again at execution time: a suspended requester cannot execute.
    ask = Ask(
        employee_id,
        request.action,
        resource,
        why,
        approved=True,
        request_id=request_id,
        approval=approval.approval_id,
    )
    decision, _ = decide_and_record(core, ask)
    if not decision.allowed:
        return Outcome(decision)
    try:
        result = _carry_out(core, request, approval, decision, now)
    except Exception:
        # The record said "allow"; it must also say the action did not happen.
        failed = _record(core, employee_id, request, why, now, "execution_failed")
        core.record(replace(failed, kind="access.execution"))
        raise
    if request.action in REVEALING:
        result = {cid: _decrypt_or_gone(core, cid, resource.fields) for cid in resource.ids}
    return Outcome(decision, result)


def _record(
    core: Core,
    employee_id: str,
    request: AccessRequest,
    why: Justification,
    now: datetime,
    reason: str,
) -> Record:
    resource = resource_of(request)
    return Record(
        employee_id,
        request.action,
        resource,
        why,
        Verdict.DENY,
        reason,
        core.facts_for(resource),
        now,
        request_id=request.request_id,
        actor_known=True,
    )


def _carry_out(
    core: Core, request: AccessRequest, approval: Approval, decision: Decision, now: datetime
) -> dict[str, Any]:
    """Use the approval and act, in one transaction."""
    resource = resource_of(request)
    employee_id = request.requester_id
    with Session(core.engine) as session, session.begin():
        used = rows_changed(
            session.execute(
                update(Approval)
                .where(Approval.approval_id == approval.approval_id, Approval.used_at.is_(None))
                .values(used_at=now)
            )
        )
        if not used:
            raise Conflict("this approval was already used")
        session.execute(
            update(AccessRequest)
            .where(AccessRequest.request_id == request.request_id)
            .values(status="executed", executed_at=now)
        )
        if request.action == "review.delete":
            remove_reviews(session, resource.ids, employee_id, now)
            return {"removed": list(resource.ids)}
        if request.action == "seller.reinstate":
            reinstate_sellers(session, resource.ids)
            return {"reinstated": list(resource.ids)}
        if request.action == "policy.apply":
            return _adopt_policy(session, resource, employee_id, now, decision)
    return {}


def _decrypt_or_gone(core: Core, customer_id: str, fields: tuple[str, ...]) -> dict[str, Any]:
    try:
        return dict(decrypt(core, customer_id, fields))
    except ShreddedError:
        return {"erased": True}


def approval_problem(
    key: Ed25519PrivateKey, request: AccessRequest, approval: Approval | None, now: datetime
) -> str | None:
    """Why this request cannot be executed now, or None when its approval holds."""
    if approval is None:
        return "not_approved"
    if approval.used_at is not None or request.status == "executed":
        return "approval_used"
    if approval.expires_at <= now:
        return "approval_expired"
    try:
        payload = signing.verify(key.public_key(), approval.payload, approval.signature)
    except signing.ApprovalInvalid:
        return "approval_signature_invalid"
    current = signing.request_digest(
        request.request_id,
        request.requester_id,
        request.action,
        request.resource,
        request.justification,
    )
    if payload["request_id"] != request.request_id or payload["request_digest"] != current.hex():
        return "request_modified"
    if request.status != "approved":
        return f"request_{request.status}"
    return None


def _adopt_policy(
    session: Session, resource: Resource, employee_id: str, now: datetime, decision: Decision
) -> dict[str, Any]:
    """The approved text becomes the next policy version, pointing at this execution's entry
    (what `policy_store.current_policy` checks before anything is decided under it)."""
    (sha,) = resource.ids
    proposal = session.get(PolicyProposal, sha)
    if proposal is None or decision.ledger_index is None:
        raise NotFound(f"no proposed policy {sha}")
    version = (session.scalar(select(func.max(PolicyVersion.version))) or 0) + 1
    session.add(
        PolicyVersion(
            version=version,
            sha256=sha,
            text=proposal.text,
            applied_by=employee_id,
            applied_at=now,
            ledger_index=decision.ledger_index,
        )
    )
    return {"policy_version": version, "sha256": sha}
