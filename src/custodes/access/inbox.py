"""The approvals inbox of the pages (`identity_pages(inbox=..., decide=...)`), backed by the door.

`inbox(approver)` lists the pending, unexpired requests this approver may decide (the policy's
`approve.<action>` with independence from the requester), with a masked preview and the digest
their authenticator will sign. `decide(proof, session)` hands the verified assertion to the
door, as the signed-in employee (proof "session"); a deny is raised as a refusal.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from custodes.access.door import Door
from custodes.access.models import AccessRequest
from custodes.access.principal import PROOF_SESSION, acting, make_principal
from custodes.access.requests import approver_context
from custodes.marketplace.models import Employee
from custodes.vault.service import masked_view
from custodes.vocabulary import Verdict

MAX_ITEMS = 100
MAX_LISTED = 10  # ids shown per request; the digest covers them all

if TYPE_CHECKING:  # identity's heavy modules load lazily
    from custodes.identity.approvals import ApprovalProof
    from custodes.identity.pages import PendingApproval
    from custodes.identity.sessions import EmployeeSession


def door_inbox(door: Door) -> Callable[[str], Sequence[PendingApproval]]:
    def inbox(approver_id: str) -> Sequence[PendingApproval]:
        from custodes.identity.pages import PendingApproval

        now = door.clock()
        items: list[PendingApproval] = []
        with Session(door.engine) as session:
            approver = session.get(Employee, approver_id)
            if approver is None:
                return items
            pending = session.scalars(
                select(AccessRequest)
                .where(AccessRequest.status == "pending", AccessRequest.expires_at > now)
                .order_by(AccessRequest.created_at)
                .limit(5 * MAX_ITEMS)
            ).all()
            for request in pending:
                if request.requester_id == approver_id:
                    continue
                context = approver_context(session, approver, request.requester_id, now)
                if not door.policy.evaluate(f"approve.{request.action}", context).allowed:
                    continue
                items.append(
                    PendingApproval(
                        request_id=request.request_id,
                        action=request.action,
                        requester_id=request.requester_id,
                        digest=request.digest,
                        preview=_preview(session, request),
                        expires_at=request.expires_at,
                    )
                )
                if len(items) >= MAX_ITEMS:
                    break
        return items

    return inbox


def _preview(session: Session, request: AccessRequest) -> Mapping[str, str]:
    """What the approver is shown: the resource (customers masked), fields, justification."""
    resource = json.loads(request.resource)
    why = json.loads(request.justification)
    ids: list[str] = resource["ids"]
    shown: dict[str, str] = {"resource": f"{resource['kind']} x{len(ids)}"}
    if resource["kind"] == "customer":
        masked = masked_view(session, ids[:MAX_LISTED])
        shown["customers (masked)"] = "; ".join(
            f"{m.customer_id} {m.email or m.phone or ''}".strip() for m in masked
        )
    else:
        shown["ids"] = ", ".join(ids[:MAX_LISTED]) + (" …" if len(ids) > MAX_LISTED else "")
    if resource.get("fields"):
        shown["fields"] = ", ".join(resource["fields"])
    shown["justification"] = why.get("code") or ""
    if why.get("case_id"):
        shown["case"] = why["case_id"]
    shown["reason"] = request.reason or ""
    return shown


def door_decide(door: Door) -> Callable[[ApprovalProof, EmployeeSession], Mapping[str, Any]]:
    def decide(proof: ApprovalProof, session: EmployeeSession) -> Mapping[str, Any]:
        from custodes.identity.errors import ApprovalRefused

        key = door.keyring.pseudonym_key
        principal = make_principal(
            key, session.employee_id, PROOF_SESSION, None, session.session_ref
        )
        with acting(principal):
            act = door.approve if proof.decision == "approve" else door.refuse
            decision = act(proof).decision
        if decision.outcome == Verdict.DENY:
            raise ApprovalRefused(decision.reason, f"the door refused: {decision.reason}")
        return {
            "outcome": decision.outcome,
            "reason": decision.reason,
            "ledger_index": decision.ledger_index,
            "checkpoint_size": decision.checkpoint_size,
        }

    return decide


__all__ = ["door_decide", "door_inbox"]
