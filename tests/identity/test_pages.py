"""The identity pages over HTTP (TestClient), with the software authenticator: cookies,
CSRF, Origin checks, security headers, the inbox contract, replays, fail-closed mounting."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from custodes.identity.approvals import ApprovalProof, audit_approvals
from custodes.identity.pages import PendingApproval, identity_pages
from custodes.identity.recording import ledger_recorder
from custodes.identity.service import IdentityService
from custodes.identity.sessions import COOKIE_NAME, EmployeeSession
from custodes.identity.settings import WebAuthnSettings
from custodes.ledger.entry import LedgerEntry
from custodes.web.app import create_app
from tests.support.identity import add_employees

from .authenticator import SoftAuthenticator

ORIGIN = "https://localhost:8000"
DIGEST = bytes.fromhex("5e" * 32)


@dataclass
class Wiring:
    """Stands in for the integrator: a ledger, an inbox and a decision sink."""

    entries: list[bytes] = field(default_factory=list)
    decided: list[ApprovalProof] = field(default_factory=list)

    def append(self, data: bytes) -> int:
        self.entries.append(data)
        return len(self.entries) - 1

    def inbox(self, approver: str) -> list[PendingApproval]:
        if approver == "E0003":  # the requester sees nothing to approve
            return []
        return [
            PendingApproval(
                "rq_7",
                "review.delete",
                "E0003",
                DIGEST,
                {"review": "R000003", "rating": "1", "customer": "C***01"},
            )
        ]

    def decide(self, proof: ApprovalProof, session: EmployeeSession) -> dict[str, Any]:
        self.decided.append(proof)
        self.append(
            LedgerEntry(
                time=__import__("datetime").datetime.now(__import__("datetime").UTC),
                actor=session.employee_id,
                action="review.delete",
                decision="approved" if proof.decision == "approve" else "refused",
                approval=proof.approval_id,
                extra=proof.ledger_extra(),
            ).encode()
        )
        return {"outcome": "recorded"}


@pytest.fixture
def setup(engine: Engine) -> tuple[TestClient, IdentityService, Wiring]:
    add_employees(engine, ("E0003", "active"), ("E0004", "active"))
    wiring = Wiring()
    settings = WebAuthnSettings(origin=ORIGIN, rp_id="localhost")
    service = IdentityService(engine, settings, ledger_recorder(wiring.append))
    app = FastAPI()
    app.include_router(
        identity_pages(
            engine, settings=settings, service=service, inbox=wiring.inbox, decide=wiring.decide
        )
    )
    client = TestClient(app, base_url=ORIGIN, headers={"Origin": ORIGIN})
    return client, service, wiring


def enroll(
    client: TestClient, service: IdentityService, employee_id: str, password: str | None = None
) -> SoftAuthenticator:
    token = service.enroll(employee_id).token
    auth = SoftAuthenticator(origin=ORIGIN)
    start = client.post("/enroll/options", json={"token": token}).json()
    done = client.post(
        "/enroll/finish",
        json={
            "token": token,
            "challenge_id": start["challenge_id"],
            "credential": auth.register(json.dumps(start["options"])),
            "password": password,
        },
    )
    assert done.status_code == 200, done.text
    cookie = done.headers["set-cookie"]
    assert (
        "Secure" in cookie
        and "HttpOnly" in cookie
        and "SameSite=strict" in cookie.replace("Strict", "strict")
    )
    assert employee_id not in cookie
    return auth


def csrf_of(client: TestClient) -> str:
    page = client.get("/inbox")
    found = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def test_enroll_sign_out_and_sign_in_again(
    setup: tuple[TestClient, IdentityService, Wiring],
) -> None:
    client, service, _ = setup
    auth = enroll(client, service, "E0004", password="a long enough password")
    page = client.get("/inbox")
    assert page.status_code == 200 and 'id="who">E0004<' in page.text
    for header, value in (
        ("content-security-policy", "script-src 'self'"),
        ("referrer-policy", "same-origin"),
        ("cache-control", "no-store"),
    ):
        assert value in page.headers[header]
    assert not re.search(r'(src|href)="https?://', page.text)  # nothing from elsewhere
    csrf = csrf_of(client)
    assert client.post("/signout", data={"csrf": "forged"}).status_code == 403
    out = client.post("/signout", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/signin"
    assert client.get("/inbox", follow_redirects=False).headers["location"] == "/signin"
    start = client.post("/signin/options", json={}).json()
    done = client.post(
        "/signin/finish",
        json={
            "challenge_id": start["challenge_id"],
            "credential": auth.assert_(json.dumps(start["options"]), origin=ORIGIN),
        },
    )
    assert done.status_code == 200 and done.json()["next"] == "/inbox"
    assert client.get("/inbox").status_code == 200
    client.cookies.clear()
    bad = client.post(
        "/signin/password",
        data={"employee_id": "E0004", "password": "nope"},
        follow_redirects=False,
    )
    assert bad.headers["location"] == "/signin?failed=1"
    good = client.post(
        "/signin/password",
        data={"employee_id": "E0004", "password": "a long enough password"},
        follow_redirects=False,
    )
    assert good.headers["location"] == "/inbox" and COOKIE_NAME in good.headers["set-cookie"]


def test_cross_origin_and_missing_csrf_refused(
    setup: tuple[TestClient, IdentityService, Wiring],
) -> None:
    client, service, _ = setup
    enroll(client, service, "E0004")
    evil = {"Origin": "https://evil.example"}
    assert client.post("/signin/options", json={}, headers=evil).status_code == 403
    assert (
        client.post(
            "/inbox/options", json={"request_id": "rq_7", "decision": "approve"}
        ).status_code
        == 403
    )  # no CSRF header
    assert client.post("/enroll/options", content=b"[]").status_code == 400
    assert client.post("/enroll/options", json={"token": "ce_forged"}).status_code == 400


def test_inbox_approval_and_replay(setup: tuple[TestClient, IdentityService, Wiring]) -> None:
    client, service, wiring = setup
    requester = enroll(client, service, "E0003")
    page = client.get("/inbox")
    assert 'id="empty"' in page.text  # the requester has nothing to approve
    refused = client.post(
        "/inbox/options",
        json={"request_id": "rq_7", "decision": "approve"},
        headers={"X-CSRF-Token": csrf_of(client)},
    )
    assert refused.status_code == 403 and refused.json()["reason"] == "not_in_inbox"
    client.cookies.clear()
    approver = enroll(client, service, "E0004")
    page = client.get("/inbox")
    assert DIGEST.hex() in page.text and "C***01" in page.text
    headers = {"X-CSRF-Token": csrf_of(client)}
    start = client.post(
        "/inbox/options", json={"request_id": "rq_7", "decision": "approve"}, headers=headers
    ).json()
    # the requester's passkey answering the approver's challenge is refused
    forged = requester.assert_(json.dumps(start["options"]), origin=ORIGIN)
    wrong = client.post(
        "/inbox/finish",
        json={"approval_id": start["approval_id"], "credential": forged},
        headers=headers,
    )
    assert wrong.status_code == 403 and wrong.json()["reason"] == "not_approvers_credential"
    start = client.post(
        "/inbox/options", json={"request_id": "rq_7", "decision": "approve"}, headers=headers
    ).json()
    answer = {
        "approval_id": start["approval_id"],
        "credential": approver.assert_(json.dumps(start["options"]), origin=ORIGIN),
    }
    done = client.post("/inbox/finish", json=answer, headers=headers)
    assert done.status_code == 200 and done.json()["decision"] == "approve"
    replay = client.post("/inbox/finish", json=answer, headers=headers)
    assert replay.status_code == 403 and replay.json()["reason"] == "stale_challenge"
    assert len(wiring.decided) == 1
    report = audit_approvals((i, json.loads(d)) for i, d in enumerate(wiring.entries))
    assert report.ok and report.approvals == 1 and report.credentials == 2


def test_static_script_is_served_from_the_package(
    setup: tuple[TestClient, IdentityService, Wiring],
) -> None:
    client, _, _ = setup
    script = client.get("/identity/static/webauthn.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith(
        "text/javascript"
    )
    assert "navigator.credentials.create" in script.text and "http" not in script.text
    assert client.get("/identity/static/../pages.py").status_code == 404
    assert client.get("/identity/static/nope.js").status_code == 404


def test_mounted_in_the_app_and_fails_closed_without_a_ledger(engine: Engine) -> None:
    add_employees(engine, ("E0003", "active"))
    client = TestClient(create_app(engine), base_url="https://localhost:8000")
    assert client.get("/signin").status_code == 200
    assert client.get("/enroll").status_code == 200
    with pytest.raises(Exception, match="no ledger"):
        IdentityService(
            engine,
            WebAuthnSettings(),
            __import__("custodes.identity.recording", fromlist=["x"]).refusing_recorder,
        ).enroll("E0003")
