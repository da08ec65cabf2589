"""The app with the one door over the small marketplace, called as a service would (`Api`)."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from custodes.access.notify import Outbox
from custodes.access.tokens import SCOPES, create_token
from custodes.identity.service import IdentityService
from custodes.identity.sessions import COOKIE_NAME, NewSession
from custodes.identity.settings import OIDCSettings, WebAuthnSettings
from custodes.identity.softkey import SoftAuthenticator
from custodes.ledger.note import Signer, generate_signer_key
from custodes.ledger.storage import LedgerReader
from custodes.vault.keyring import FileKeyring
from custodes.web.app import Services, close_app, create_app
from tests.support.identity import Provider
from tests.support.marketplace import seed

OWN_PROOF_PATHS = re.compile(
    r"^/v1/(cases|requests|policy|break-glass|requests/[^/]+/execute|cases/[^/]+/close)$"
)
DECISION_PATH = re.compile(r"^/v1/requests/([^/]+)/(approve|refuse)$")
ISSUER, AUDIENCE = "https://idp.test", "custodes-test"


@dataclass
class Api:
    """The app over HTTP, as a calling service: one token with every scope (the legacy header
    included). Reads name the employee in the header ("asserted by service"); the steps that
    need the employee's own proof (requests, approvals, executions, break-glass, case opening)
    send an ID token from the loopback identity provider, and approvals are passkey assertions
    of a software authenticator enrolled on first use."""

    client: TestClient
    token: str
    outbox: Outbox
    engine: Engine
    signer: Signer
    provider: Provider
    service: IdentityService
    authenticators: dict[str, SoftAuthenticator] = field(default_factory=dict)
    sessions: dict[str, NewSession] = field(default_factory=dict)
    _enrolling: threading.Lock = field(default_factory=threading.Lock)

    def id_token(self, employee: str, **claims: object) -> str:
        key = self.provider.keys[1]  # ES256
        now = int(time.time())
        body = {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 600}
        body.update({"employee_id": employee, **claims})
        return jwt.encode(body, key.private, algorithm=key.alg, headers={"kid": key.kid})

    def headers(self, employee: str | None, proof: str) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"}
        if employee and proof == "oidc":
            headers["X-Custodes-Employee-Token"] = self.id_token(employee)
        elif employee:
            headers["X-Custodes-Employee"] = employee
        return headers

    def call(
        self, method: str, path: str, employee: str | None = None, proof: str | None = None, **kw
    ):  # type: ignore[no-untyped-def]
        decision = DECISION_PATH.match(path)
        if decision and method == "POST" and employee and proof in (None, "oidc"):
            body = kw.get("json") or {}
            return self.decide(employee, decision[1], decision[2], body.get("digest"))
        if proof is None:
            proof = "oidc" if method == "POST" and OWN_PROOF_PATHS.match(path) else "header"
        headers = self.headers(employee, proof)
        return self.client.request(method, path, headers=headers, **kw)  # type: ignore[arg-type]

    @contextmanager
    def signed_in(self, employee: str) -> Iterator[dict[str, str]]:
        """`employee` signed in with a passkey; yields the CSRF header their pages send."""
        self.enroll(employee)
        new = self.sessions[employee]
        self.client.cookies.set(COOKIE_NAME, new.cookie)
        try:
            yield {"X-CSRF-Token": new.session.csrf_token}
        finally:
            self.client.cookies.clear()

    def entries(self, action: str) -> list[dict]:  # type: ignore[type-arg]
        """The ledger's entries of one action, in order."""
        reader = LedgerReader(self.engine)
        entries = [json.loads(e) for e in reader.entries(0, reader.head().size)]
        return [e for e in entries if e["action"] == action]

    def enroll(self, employee: str) -> SoftAuthenticator:
        """A passkey for `employee`, registered through the identity service (ledgered)."""
        with self._enrolling:
            if employee not in self.authenticators:
                link = self.service.enroll(employee)
                options = self.service.registration_options(link.token)
                authenticator = SoftAuthenticator()
                credential = authenticator.register(options.options_json)
                self.sessions[employee] = self.service.finish_registration(
                    link.token, options.challenge_id, credential
                )
                self.authenticators[employee] = authenticator
            return self.authenticators[employee]

    def decide(
        self, employee: str, request_id: str, decision: str = "approve", digest: str | None = None
    ):  # type: ignore[no-untyped-def]
        """Approve or refuse over /v1: the challenge, then the passkey's assertion."""
        authenticator = self.enroll(employee)
        if digest is None:
            preview = self.call("GET", f"/v1/requests/{request_id}")
            digest = preview.json().get("digest", "0" * 64)
        start = self.client.post(
            f"/v1/requests/{request_id}/approval",
            json={"decision": decision, "digest": digest},
            headers=self.headers(employee, "oidc"),
        )
        if start.status_code != 200:
            return start
        with self._enrolling:  # one counter per authenticator, as a device has
            credential = authenticator.assert_(json.dumps(start.json()["options"]))
        return self.client.post(
            f"/v1/requests/{request_id}/{decision}",
            json={"approval_id": start.json()["approval_id"], "credential": credential},
            headers=self.headers(employee, "oidc"),
        )


@pytest.fixture
def api(engine: Engine, keyring: FileKeyring, tmp_path: Path, provider: Provider) -> Iterator[Api]:
    seed(engine, keyring)
    with Session(engine) as session, session.begin():
        _, token = create_token(session, "support-tool", list(SCOPES))
    signer = Signer.from_skey(generate_signer_key("custodes.test/ledger")[0])
    outbox = Outbox()
    app = create_app(
        engine,
        Services(
            keyring=keyring,
            approval_key=Ed25519PrivateKey.generate(),
            signer=signer,
            notifier=outbox,
            webauthn=WebAuthnSettings(),
            oidc=OIDCSettings(ISSUER, provider.url, AUDIENCE, jwks_min_refresh=timedelta(0)),
        ),
    )
    client = TestClient(app, raise_server_exceptions=False)
    try:
        yield Api(client, token, outbox, engine, signer, provider, app.state.identity)
    finally:
        close_app(app)


DELETE_R1 = {
    "action": "review.delete",
    "resource": {"kind": "review", "ids": ["R1"]},
    "justification": {"code": "review_report", "case_id": "K3", "text": "fake review reported"},
}


def request_change(api: Api, body: dict = DELETE_R1, employee: str = "T1") -> tuple[str, str]:
    response = api.call("POST", "/v1/requests", employee, json=body)
    assert response.status_code == 202, response.text
    request_id = response.json()["decision"]["request_id"]
    preview = api.call("GET", f"/v1/requests/{request_id}")
    assert preview.status_code == 200
    return request_id, preview.json()["digest"]


def approve_change(api: Api, request_id: str, digest: str, approver: str):
    return api.call("POST", f"/v1/requests/{request_id}/approve", approver, json={"digest": digest})
