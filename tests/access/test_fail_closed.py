"""Record before reveal: with the ledger broken, no endpoint returns PII or changes anything."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from custodes.marketplace.models import Case, Customer, Review
from tests.support.api import Api
from tests.support.marketplace import CUSTOMERS

PII = [v for pii in CUSTOMERS.values() for v in (pii.name, pii.email, pii.phone) if v]
PII += [p.split("@")[0] for p in PII if "@" in p]


def test_no_pii_and_no_action_without_the_ledger(api: Api) -> None:
    # A request waiting for approval, made while the ledger still worked.
    pending = api.call(
        "POST",
        "/v1/requests",
        "T1",
        json={
            "action": "review.delete",
            "resource": {"kind": "review", "ids": ["R1"]},
            "justification": {"code": "review_report", "case_id": "K3"},
        },
    )
    request_id = pending.json()["decision"]["request_id"]
    digest = api.call("GET", f"/v1/requests/{request_id}").json()["digest"]

    api.enroll("T2")  # the approver's passkey, registered while the ledger still worked
    with api.engine.begin() as conn:
        conn.execute(text("DROP TABLE ledger_nodes"))

    calls = [
        (
            "POST",
            "/v1/customers/C1/reveal",
            "A1",
            {
                "json": {
                    "fields": ["name", "email", "phone"],
                    "justification": {"code": "customer_contact", "case_id": "K1"},
                }
            },
        ),
        ("POST", "/v1/customers/search", "A1", {"json": {"email": "quentin.q@mailbox.example"}}),
        ("GET", "/v1/customers/C1", "A1", {}),
        ("GET", "/v1/orders/O1", "A1", {"params": {"case_id": "K1"}}),
        (
            "GET",
            "/v1/reviews/R1",
            "T1",
            {"params": {"justification": "review_report", "case_id": "K3"}},
        ),
        (
            "POST",
            "/v1/break-glass",
            "A2",
            {"json": {"customer_id": "C2", "reason": "locked out, urgent fraud"}},
        ),
        ("POST", f"/v1/requests/{request_id}/approve", "T2", {"json": {"digest": digest}}),
        ("POST", f"/v1/requests/{request_id}/execute", "T1", {}),
        (
            "POST",
            "/v1/customers",
            None,
            {"json": {"customer_id": "C9", "name": "Nina New", "email": "nina@mail.example"}},
        ),
        (
            "POST",
            "/v1/cases",
            "M2",
            {
                "json": {
                    "case_id": "K9",
                    "kind": "customer_contact",
                    "assignee": "A2",
                    "customer_id": "C2",
                }
            },
        ),
        ("POST", "/v1/cases/K1/close", "M2", {}),
        (
            "POST",
            "/v1/requests",
            "P1",
            {
                "json": {
                    "action": "customer.export",
                    "resource": {"kind": "customer", "ids": ["C1"], "fields": ["email"]},
                    "justification": {"code": "legal"},
                }
            },
        ),
    ]
    for method, path, employee, kw in calls:
        response = api.call(method, path, employee, **kw)
        assert response.status_code == 503, (path, response.status_code, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        for value in PII:
            assert value not in response.text, path
    with Session(api.engine) as session:
        assert session.get(Review, "R1").status == "published"
        # Writes the ledger could not record did not happen either.
        assert session.get(Customer, "C9") is None and session.get(Case, "K9") is None
        assert session.get(Case, "K1").closed_at is None
