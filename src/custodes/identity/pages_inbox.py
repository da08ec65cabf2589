"""The approvals inbox: what waits for the signed-in approver (masked preview and digest), and
approving or refusing with a passkey over (digest, approval id, decision)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from custodes.identity.approvals import ApprovalProof
from custodes.identity.errors import ApprovalRefused, IdentityError
from custodes.identity.page_kit import SECURITY_HEADERS, PageKit
from custodes.identity.sessions import EmployeeSession


@dataclass(frozen=True)
class PendingApproval:
    """One item of an approver's inbox, as the integrator supplies it (already masked)."""

    request_id: str
    action: str
    requester_id: str
    digest: bytes
    preview: Mapping[str, str] = field(default_factory=dict)
    expires_at: datetime | None = None


InboxSource = Callable[[str], Sequence[PendingApproval]]
DecisionSink = Callable[[ApprovalProof, EmployeeSession], Mapping[str, Any]]


def add_inbox_routes(
    router: APIRouter, kit: PageKit, inbox: InboxSource, decide: DecisionSink
) -> None:
    service = kit.service

    @router.get("/inbox")
    def inbox_page(request: Request) -> Response:
        try:
            session = kit.current(request)
        except IdentityError:
            return RedirectResponse("/signin", status_code=303, headers=SECURITY_HEADERS)
        items = list(inbox(session.employee_id))
        return kit.page("inbox.html", title="Approvals", session=session, items=items)

    @kit.refusals
    async def approval_options(request: Request) -> Response:
        session = await run_in_threadpool(kit.json_session, request)
        data = await kit.body_json(request)
        request_id, decision = str(data.get("request_id", "")), str(data.get("decision", ""))
        items = await run_in_threadpool(inbox, session.employee_id)
        item = next((i for i in items if i.request_id == request_id), None)
        if item is None:
            raise ApprovalRefused("not_in_inbox", "this request is not waiting for you")
        options = await run_in_threadpool(
            service.begin_approval, session.employee_id, request_id, item.digest, decision
        )
        return kit.options(options, "approval_id")

    @kit.refusals
    async def approval_finish(request: Request) -> Response:
        session = await run_in_threadpool(kit.json_session, request)
        data = await kit.body_json(request)
        proof = await run_in_threadpool(
            service.finish_approval,
            str(data.get("approval_id", "")),
            session.employee_id,
            data.get("credential") or {},
        )
        outcome = dict(await run_in_threadpool(decide, proof, session))
        return JSONResponse(
            {"ok": True, "decision": proof.decision, "request_id": proof.request_id, **outcome},
            headers=SECURITY_HEADERS,
        )

    router.add_api_route("/inbox/options", approval_options, methods=["POST"])
    router.add_api_route("/inbox/finish", approval_finish, methods=["POST"])
