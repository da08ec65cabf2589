"""Headless Chromium (Debian's, via Playwright's executable_path) with CDP virtual
authenticators: enroll, sign out, sign in, approve as a second person; the requester cannot
approve, the requester's credential and a replayed assertion are refused. Screenshots go to
build/screenshots/."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine

from custodes.identity.approvals import ApprovalProof, audit_approvals
from custodes.identity.pages import PendingApproval, identity_pages
from custodes.identity.recording import ledger_recorder
from custodes.identity.service import IdentityService
from custodes.identity.sessions import COOKIE_NAME, EmployeeSession
from custodes.identity.settings import WebAuthnSettings
from custodes.ledger.entry import LedgerEntry
from tests.support.browser import CHROMIUM, person, shot
from tests.support.identity import add_employees

DIGEST = bytes.fromhex("9c" * 32)

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(
    shutil.which("chromium") is None and not Path(CHROMIUM).exists(),
    reason="Debian's chromium is not installed (make system-deps)",
)


@dataclass
class Wiring:
    """The integrator's part, stood in: a ledger, one pending review deletion, a sink."""

    entries: list[bytes] = field(default_factory=list)
    decided: list[ApprovalProof] = field(default_factory=list)

    def append(self, data: bytes) -> int:
        self.entries.append(data)
        return len(self.entries) - 1

    def inbox(self, approver: str) -> list[PendingApproval]:
        if approver == "E0003" or self.decided:  # requesters never see their own request
            return []
        return [
            PendingApproval(
                "rq_42",
                "review.delete",
                "E0003",
                DIGEST,
                {"review": "R000003", "rating": "1", "author": "cp_4f2k…"},
            )
        ]

    def decide(self, proof: ApprovalProof, session: EmployeeSession) -> dict[str, Any]:
        self.append(
            LedgerEntry(
                time=datetime.now(UTC),
                actor=session.employee_id,
                action="review.delete",
                decision="approved",
                approval=proof.approval_id,
                extra=proof.ledger_extra(),
            ).encode()
        )
        self.decided.append(proof)
        return {"outcome": "review deletion approved"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Site:
    origin: str
    service: IdentityService
    wiring: Wiring


@pytest.fixture
def site(engine: Engine) -> Iterator[Site]:
    add_employees(engine, ("E0003", "active"), ("E0004", "active"))
    port = _free_port()
    origin = f"http://localhost:{port}"
    settings = WebAuthnSettings(origin=origin, rp_id="localhost")
    wiring = Wiring()
    service = IdentityService(engine, settings, ledger_recorder(wiring.append))
    app = FastAPI()
    app.include_router(
        identity_pages(
            engine, settings=settings, service=service, inbox=wiring.inbox, decide=wiring.decide
        )
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield Site(origin, service, wiring)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def enroll(page: Any, site: Site, employee_id: str, tag: str) -> None:
    link = site.service.enroll(employee_id)
    page.goto(link.url)
    assert "#" not in page.url  # the secret left the address bar at once
    shot(page, f"enroll-{employee_id}", tag)
    page.click("#enroll")
    page.wait_for_url(f"{site.origin}/inbox")


def post_json(page: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """fetch() from the page itself: same origin, same cookies, the page's CSRF token."""
    return page.evaluate(
        """async ([path, body]) => {
            const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
            const r = await fetch(path, {method: "POST", credentials: "same-origin",
              headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
              body: JSON.stringify(body)});
            return {status: r.status, body: await r.json().catch(() => null)};
        }""",
        [path, body],
    )


def test_enroll_sign_in_and_approve_as_a_second_person(
    site: Site, browser: Any, request: pytest.FixtureRequest
) -> None:
    tag = request.node.callspec.id.replace("[", "").replace("]", "")
    approver_ctx, approver = person(browser)
    requester_ctx, requester = person(browser)

    # the approver enrolls; the session cookie is Secure, HttpOnly, SameSite=Strict, no PII
    enroll(approver, site, "E0004", tag)
    (cookie,) = [c for c in approver_ctx.cookies() if c["name"] == COOKIE_NAME]
    assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert cookie["value"].startswith("cs_") and "E0004" not in cookie["value"]
    assert approver.inner_text("#who") == "E0004"

    # sign out and back in with the passkey
    approver.click("#signout")
    approver.wait_for_url(f"{site.origin}/signin")
    shot(approver, "signin", tag)
    approver.click("#passkey-signin")
    approver.wait_for_url(f"{site.origin}/inbox")
    shot(approver, "inbox-before", tag)
    assert "review.delete" in approver.inner_text("#request-rq_42")
    assert DIGEST.hex() in approver.inner_text("#request-rq_42 code.digest")

    # the requester enrolls too: nothing to approve, and asking anyway is refused
    enroll(requester, site, "E0003", tag)
    assert requester.is_visible("#empty")
    own = post_json(requester, "/inbox/options", {"request_id": "rq_42", "decision": "approve"})
    assert own["status"] == 403 and own["body"]["reason"] == "not_in_inbox"

    # an approval answered by the requester's passkey is refused
    start = post_json(approver, "/inbox/options", {"request_id": "rq_42", "decision": "approve"})
    assert start["status"] == 200
    options = dict(start["body"]["options"], allowCredentials=[])
    forged = requester.evaluate(
        """async (o) => {
            const d = (t) => Uint8Array.from(atob(t.replace(/-/g, "+").replace(/_/g, "/")
                                                  + "===".slice((t.length + 3) % 4)),
                                             c => c.charCodeAt(0));
            const e = (b) => btoa(String.fromCharCode(...new Uint8Array(b)))
                .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
            o.challenge = d(o.challenge);
            const c = await navigator.credentials.get({publicKey: o});
            return {id: c.id, rawId: e(c.rawId), type: c.type, clientExtensionResults: {},
                    response: {authenticatorData: e(c.response.authenticatorData),
                               clientDataJSON: e(c.response.clientDataJSON),
                               signature: e(c.response.signature), userHandle: null}};
        }""",
        options,
    )
    wrong = post_json(
        approver,
        "/inbox/finish",
        {"approval_id": start["body"]["approval_id"], "credential": forged},
    )
    assert wrong["status"] == 403 and wrong["body"]["reason"] == "not_approvers_credential"

    # the approver approves with their own passkey; the page shows it
    answers: list[str] = []
    approver.on(
        "request",
        lambda r: answers.append(r.post_data) if r.url.endswith("/inbox/finish") else None,
    )
    approver.click("#request-rq_42 button[data-decision=approve]")
    approver.wait_for_selector("#request-rq_42 .outcome:has-text('Approved')")
    shot(approver, "inbox-approved", tag)
    assert len(site.wiring.decided) == 1 and site.wiring.decided[0].approver_id == "E0004"

    # the same assertion replayed is refused
    replay = post_json(approver, "/inbox/finish", json.loads(answers[-1]))
    assert replay["status"] == 403 and replay["body"]["reason"] == "stale_challenge"

    # an auditor with only the ledger entries accepts the approval
    report = audit_approvals((i, json.loads(d)) for i, d in enumerate(site.wiring.entries))
    assert report.ok, report.failures
    assert (report.credentials, report.approvals) == (2, 1)
    approver_ctx.close()
    requester_ctx.close()
