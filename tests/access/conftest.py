"""A small marketplace with one employee per role, cases, and an app with the one door."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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
from custodes.identity.sessions import NewSession
from custodes.identity.settings import OIDCSettings, WebAuthnSettings
from custodes.ledger.note import Signer, generate_signer_key
from custodes.marketplace.models import Case, Customer, Employee, Order, Product, Review, Seller
from custodes.store.engine import transaction
from custodes.vault.keyring import FileKeyring
from custodes.vault.service import CustomerPII, insert_prepared, prepare_customer
from custodes.web.app import Services, close_app, create_app
from tests.identity.authenticator import SoftAuthenticator
from tests.identity.conftest import Provider, provider  # noqa: F401  (a fixture, shared)

T0 = datetime(2025, 1, 1, tzinfo=UTC)
OPEN = datetime.now(UTC) - timedelta(days=1)

EMPLOYEES = [
    ("M1", "manager", None),
    ("M2", "manager", "M1"),
    ("A1", "support_agent", "M2"),
    ("A2", "support_agent", "M2"),
    ("T1", "trust_safety", "M2"),
    ("T2", "trust_safety", "M1"),
    ("S1", "seller_support", "M2"),
    ("D1", "data_analyst", "M2"),
    ("G1", "engineer", "M1"),
    ("I1", "investigator", "M1"),
    ("P1", "privacy_officer", "M1"),
    ("P2", "privacy_officer", "M1"),
    ("X1", "support_agent", "M2"),  # suspended
]
CUSTOMERS = {
    "C1": CustomerPII(
        name="Quentin Quarrelsome", email="quentin.q@mailbox.example", phone="+442079460111"
    ),
    "C2": CustomerPII(
        name="Rosalind Reviewer", email="ros.rev@inbox.example", phone="+14155552671"
    ),
}
CASES = [
    ("K1", "customer_contact", "A1", "C1", None),
    ("K2", "customer_contact", "A1", "C2", None),  # closed below
    ("K3", "review_report", "T1", "C2", "SB"),
    ("K4", "seller_appeal", "T1", None, "SB"),
    ("K5", "seller_support", "S1", None, "SA"),
    ("K6", "investigation", "I1", "C1", None),
    ("K7", "customer_contact", "X1", "C1", None),
]


def seed(engine: Engine, keyring: FileKeyring) -> None:
    with transaction(engine) as session:
        for employee_id, role, manager in EMPLOYEES:
            session.add(
                Employee(
                    employee_id=employee_id,
                    name=f"Staff {employee_id}",
                    role=role,
                    team="t",
                    manager_id=manager,
                    hired_at=T0,
                    suspended_at=T0 if employee_id == "X1" else None,
                )
            )
        prepared = [prepare_customer(keyring, cid, pii, None) for cid, pii in CUSTOMERS.items()]
        for p in prepared:
            session.add(Customer(customer_id=p.customer_id, pseudonym=p.pseudonym, created_at=T0))
        session.add(Seller(seller_id="SA", name="Acme", status="active", created_at=T0))
        session.add(
            Seller(seller_id="SB", name="Shady", status="banned", created_at=T0, banned_at=T0)
        )
        session.flush()
        insert_prepared(session, prepared)
        session.add(Product(product_id="P1", seller_id="SA", category="home", title="Widget"))
        session.add(Product(product_id="P2", seller_id="SB", category="toys", title="Gadget"))
        session.flush()
        session.add(
            Order(order_id="O1", customer_id="C1", product_id="P1", seller_id="SA", ordered_at=T0)
        )
        session.add(
            Review(
                review_id="R1",
                customer_id="C2",
                product_id="P2",
                seller_id="SB",
                rating=1,
                created_at=T0,
                status="published",
            )
        )
        for case_id, kind, employee, customer, seller in CASES:
            session.add(
                Case(
                    case_id=case_id,
                    kind=kind,
                    employee_id=employee,
                    customer_id=customer,
                    seller_id=seller,
                    opened_at=OPEN,
                    closed_at=OPEN + timedelta(hours=1) if case_id == "K2" else None,
                )
            )


OWN_PROOF_PATHS = re.compile(r"^/v1/(cases|requests|policy|break-glass|requests/[^/]+/execute)$")
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
def api(engine: Engine, keyring: FileKeyring, tmp_path: Path, provider: Provider) -> Iterator[Api]:  # noqa: F811
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
