"""A real review deletion approved through the door in headless Chromium: T1 asks over `/v1`
with their ID token; T2, a second person, enrolls a passkey (CDP virtual authenticator), sees
the request in the inbox (masked preview, digest) and approves it with the passkey; the door
records the assertion; T1 executes with their own proof again; an auditor checks the approval
from the ledger alone. The requester sees nothing to approve. Screenshots: build/screenshots/."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from custodes.access.notify import Outbox
from custodes.access.tokens import SCOPES, create_token
from custodes.identity.approvals import audit_approvals
from custodes.identity.settings import OIDCSettings, WebAuthnSettings
from custodes.ledger.note import Signer, generate_signer_key
from custodes.ledger.storage import LedgerReader
from custodes.marketplace.models import Review
from custodes.vault.keyring import FileKeyring
from custodes.web.app import Services, close_app, create_app
from tests.support.api import AUDIENCE, ISSUER, Api
from tests.support.browser import CHROMIUM, browser, person, shot  # noqa: F401
from tests.support.identity import Provider
from tests.support.marketplace import seed

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (make system-deps)"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(engine: Engine, keyring: FileKeyring, provider: Provider) -> Iterator[tuple[str, Any]]:
    """The whole app (door, pages, identity) on a loopback port, the access fixtures' world."""
    seed(engine, keyring)
    port = _free_port()
    origin = f"http://localhost:{port}"
    app = create_app(
        engine,
        Services(
            keyring=keyring,
            approval_key=Ed25519PrivateKey.generate(),
            signer=Signer.from_skey(generate_signer_key("custodes.test/ledger")[0]),
            notifier=Outbox(),
            webauthn=WebAuthnSettings(origin=origin, rp_id="localhost"),
            oidc=OIDCSettings(ISSUER, provider.url, AUDIENCE),
        ),
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield origin, app
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        close_app(app)


def test_a_second_person_approves_a_real_review_deletion_with_a_passkey(
    served: tuple[str, Any],
    engine: Engine,
    provider: Provider,
    browser: Any,  # noqa: F811
    request: pytest.FixtureRequest,
) -> None:
    origin, app = served
    tag = request.node.callspec.id.replace("[", "").replace("]", "")
    with Session(engine) as session, session.begin():
        _, token = create_token(session, "support-tool", list(SCOPES))
    # Api only to mint the employees' ID tokens with the provider's key.
    ids = Api(None, token, Outbox(), engine, None, provider, app.state.identity)  # type: ignore[arg-type]

    def v1(method: str, path: str, employee: str, **kw: Any) -> httpx.Response:
        headers = {
            "Authorization": f"Bearer {token}",
            "X-Custodes-Employee-Token": ids.id_token(employee),
        }
        return httpx.request(method, origin + path, headers=headers, timeout=30, **kw)

    asked = v1(
        "POST",
        "/v1/requests",
        "T1",
        json={
            "action": "review.delete",
            "resource": {"kind": "review", "ids": ["R1"]},
            "justification": {"code": "review_report", "case_id": "K3"},
        },
    )
    assert asked.status_code == 202, asked.text
    request_id = asked.json()["decision"]["request_id"]
    digest = v1("GET", f"/v1/requests/{request_id}", "T2").json()["digest"]

    approver_ctx, approver = person(browser)
    requester_ctx, requester = person(browser)
    for page, who in ((approver, "T2"), (requester, "T1")):
        page.goto(app.state.identity.enroll(who).url)
        page.click("#enroll")
        page.wait_for_url(f"{origin}/inbox")
    # The requester has nothing to approve; the approver sees the request, masked, with its digest.
    assert requester.is_visible("#empty")
    section = f"#request-{request_id}"
    shot(approver, "door-inbox", tag)
    assert "review.delete" in approver.inner_text(section)
    assert digest in approver.inner_text(f"{section} code.digest")
    assert "R1" in approver.inner_text(section) and "T1" in approver.inner_text(section)

    approver.click(f"{section} button[data-decision=approve]")
    approver.wait_for_selector(f"{section} .outcome:has-text('Approved')")
    shot(approver, "door-approved", tag)

    executed = v1("POST", f"/v1/requests/{request_id}/execute", "T1")
    assert executed.status_code == 200, executed.text
    with Session(engine) as session:
        assert session.get(Review, "R1").status == "removed"

    reader = LedgerReader(engine)
    entries = [json.loads(e) for e in reader.entries(0, reader.head().size)]
    [approval] = [e for e in entries if e["action"] == "approve.review.delete"]
    assert approval["actor"] == "T2" and approval["decision"] == "allow"
    assert approval["extra"]["proof"] == "session" and approval["extra"]["webauthn.approval"]
    report = audit_approvals(enumerate(entries), [origin])
    assert report.ok and (report.credentials, report.approvals) == (2, 1), report.failures
    approver_ctx.close()
    requester_ctx.close()
