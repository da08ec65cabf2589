"""Every endpoint x every role x with/without a case: exactly the expected outcome, on record."""

from __future__ import annotations

import json
from typing import Any

import pytest

from custodes.ledger.storage import LedgerReader
from tests.support.api import Api

ROLES = {
    "support_agent": "A1",
    "trust_safety": "T1",
    "seller_support": "S1",
    "data_analyst": "D1",
    "engineer": "G1",
    "manager": "M2",
    "privacy_officer": "P1",
    "investigator": "I1",
    "suspended": "X1",
}
# The case (and justification code) each role would legitimately work under, per endpoint.
CASE = {
    "support_agent": ("K1", "customer_contact"),
    "trust_safety": ("K3", "review_report"),
    "seller_support": ("K5", "seller_support"),
    "investigator": ("K6", "investigation"),
    "suspended": ("K7", "customer_contact"),
}
TNS_APPEAL = ("K4", "seller_appeal")


def _endpoint(name: str, role: str, with_case: bool) -> tuple[str, str, dict[str, Any]]:
    case, code = CASE.get(role, (None, "customer_contact"))
    if name in ("seller.view", "seller.reinstate") and role == "trust_safety":
        case, code = TNS_APPEAL
    if name == "customer.export" and role == "privacy_officer":
        code = "legal"
    if not with_case:
        case = None
    query = {"justification": code, **({"case_id": case} if case else {})}
    why = {"code": code, **({"case_id": case} if case else {})}
    return {
        "customer.view": (
            "POST",
            "/v1/customers/C1/reveal",
            {"json": {"fields": ["email"], "justification": why}},
        ),
        "customer.search": ("GET", "/v1/customers/C1", {"params": query}),
        "customer.search.email": (
            "POST",
            "/v1/customers/search",
            {
                "json": {
                    "email": "quentin.q@mailbox.example",
                    "justification": code,
                    **({"case_id": case} if case else {}),
                }
            },
        ),
        "order.view": ("GET", "/v1/orders/O1", {"params": query}),
        "review.view": ("GET", "/v1/reviews/R1", {"params": query}),
        "seller.view": ("GET", "/v1/sellers/SB", {"params": query}),
        "seller.metrics": ("GET", "/v1/sellers/SA/metrics", {"params": query}),
        "review.delete": (
            "POST",
            "/v1/requests",
            {
                "json": {
                    "action": "review.delete",
                    "resource": {"kind": "review", "ids": ["R1"]},
                    "justification": why,
                }
            },
        ),
        "seller.reinstate": (
            "POST",
            "/v1/requests",
            {
                "json": {
                    "action": "seller.reinstate",
                    "resource": {"kind": "seller", "ids": ["SB"]},
                    "justification": why,
                }
            },
        ),
        "customer.export": (
            "POST",
            "/v1/requests",
            {
                "json": {
                    "action": "customer.export",
                    "resource": {"kind": "customer", "ids": ["C1"], "fields": ["email"]},
                    "justification": why,
                }
            },
        ),
    }[name]


SEARCHERS = {"support_agent", "trust_safety", "data_analyst", "investigator", "privacy_officer"}


def expected(name: str, role: str, with_case: bool) -> int:
    """The policy, restated as a table a reviewer can check line by line."""
    if role == "suspended":
        return 403
    if name in ("customer.search", "customer.search.email"):
        return 200 if role in SEARCHERS else 403
    allowed = {
        "customer.view": {"support_agent", "investigator"},
        "order.view": {"support_agent", "investigator"},
        # The investigation K6 names customer C1 only: not R1's or SA's or SB's records.
        "review.view": {"trust_safety"},
        "seller.view": {"trust_safety"},
        "seller.metrics": {"seller_support"},
        "review.delete": {"trust_safety"},
        "seller.reinstate": {"trust_safety"},
        "customer.export": {"investigator", "privacy_officer"},
    }[name]
    if role not in allowed:
        return 403
    needs_case = not (name == "customer.export" and role == "privacy_officer")
    if needs_case and not with_case:
        return 403
    if name in ("review.delete", "seller.reinstate", "customer.export"):
        return 202
    return 200


DECISION = {200: "allow", 202: "pending", 403: "deny"}
REQUESTED = ("review.delete", "seller.reinstate", "customer.export")
ENDPOINTS = [
    "customer.view",
    "customer.search",
    "customer.search.email",
    "order.view",
    "review.view",
    "seller.view",
    "seller.metrics",
    "review.delete",
    "seller.reinstate",
    "customer.export",
]


@pytest.mark.parametrize("name", ENDPOINTS)
def test_authorization_matrix(api: Api, name: str) -> None:
    reader = LedgerReader(api.engine)
    for role, employee in ROLES.items():
        for with_case in (True, False):
            method, path, kw = _endpoint(name, role, with_case)
            before = reader.head().size
            response = api.call(method, path, employee, **kw)
            want = expected(name, role, with_case)
            if role == "suspended" and name in REQUESTED:
                # Requests need the employee's own proof: a suspended employee's ID token is
                # refused before the door, and that refusal is the one new entry.
                assert response.status_code == 401, (role, with_case, response.text)
                assert reader.head().size == before + 1, (role, with_case)
                entry = json.loads(reader.entry(before))
                assert entry["action"] == "employee.authenticate"
                assert entry["reason"] == "employee_suspended" and entry["decision"] == "deny"
                continue
            assert response.status_code == want, (role, with_case, response.text)
            # Exactly one new ledger entry, saying what happened.
            assert reader.head().size == before + 1, (role, with_case)
            entry = json.loads(reader.entry(before))
            assert entry["action"] == name.removesuffix(".email") and entry["actor"] == employee
            assert entry["decision"] == DECISION[want], (role, with_case, entry)
            if want == 200 and name == "customer.view":
                assert response.json()["values"] == {"email": "quentin.q@mailbox.example"}
            if want == 200 and name.startswith("customer.search"):
                [hit] = response.json()["results"]
                assert hit["customer_id"] == "C1" and hit["email"] == "q***@m***.example"
            if want == 403:
                assert response.headers["content-type"] == "application/problem+json"
                assert "quentin" not in response.text


def test_closed_case_no_longer_opens_the_door(api: Api) -> None:
    response = api.call(
        "POST",
        "/v1/customers/C2/reveal",
        "A1",
        json={"fields": ["email"], "justification": {"code": "customer_contact", "case_id": "K2"}},
    )
    assert response.status_code == 403


def test_case_about_another_customer_does_not_cover(api: Api) -> None:
    response = api.call(
        "POST",
        "/v1/customers/C2/reveal",
        "A1",
        json={"fields": ["email"], "justification": {"code": "customer_contact", "case_id": "K1"}},
    )
    assert response.status_code == 403


def test_someone_elses_case_does_not_cover(api: Api) -> None:
    response = api.call(
        "POST",
        "/v1/customers/C1/reveal",
        "A2",
        json={"fields": ["email"], "justification": {"code": "customer_contact", "case_id": "K1"}},
    )
    assert response.status_code == 403


def test_tokens_are_required_and_scoped(api: Api) -> None:
    assert api.client.get("/v1/customers/C1").status_code == 401
    bad = api.client.get(
        "/v1/customers/C1",
        headers={"Authorization": "Bearer cst_nope", "X-Custodes-Employee": "A1"},
    )
    assert bad.status_code == 401
    assert bad.headers["content-type"] == "application/problem+json"
