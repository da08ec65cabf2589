"""The insider with a valid token and a colleague: each attack from the review, over HTTP,
on both backends. Every one fails with a recorded refusal, and nothing caller-typed that is not
a known record reaches the public ledger."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from custodes.ledger.storage import LedgerReader
from tests.support.api import Api

PII_LIKE = [
    ("GET", "/v1/orders/carolynmcmahon1995.gmail.com", "A1", {"params": {"case_id": "K1"}}),
    ("GET", "/v1/sellers/412x550x4019", "S1", {"params": {"justification": "seller_support"}}),
    ("GET", "/v1/orders/O1", "shohei08.ezweb.ne.jp", {}),
    ("GET", "/v1/orders/O1", "A1", {"params": {"case_id": "shohei08.at.ezweb.ne.jp"}}),
]


def _entries(api: Api) -> list[dict[str, Any]]:
    reader = LedgerReader(api.engine)
    return [json.loads(e) for e in reader.entries(0, reader.head().size)]


def _ledger_text(api: Api) -> str:
    reader = LedgerReader(api.engine)
    return b"\n".join(reader.entries(0, reader.head().size)).decode()


def test_caller_typed_strings_never_reach_the_ledger(api: Api) -> None:
    for method, path, employee, kw in PII_LIKE:
        response = api.call(method, path, employee, **kw)
        assert response.status_code in (403, 404), response.text
    text = _ledger_text(api)
    for needle in ("carolynmcmahon1995", "412x550x4019", "shohei08"):
        assert needle not in text
    with api.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT actor, subject_id FROM ledger_access_index").all()
    assert not any("shohei08" in str(r) or "412x550" in str(r) for r in rows)


def test_ordinary_ids_are_not_mistaken_for_phone_numbers(api: Api) -> None:
    body = {
        "case_id": "GI-12345678-000001",
        "kind": "customer_contact",
        "assignee": "A2",
        "customer_id": "C2",
    }
    response = api.call("POST", "/v1/cases", "M2", json=body)
    assert response.status_code == 201, response.text
    assert any(e.get("case") == "GI-12345678-000001" for e in _entries(api))


def test_duplicate_ids_are_refused_and_every_changed_review_is_named(api: Api) -> None:
    why = {"code": "review_report", "case_id": "K3"}
    hidden = {
        "action": "review.delete",
        "resource": {"kind": "review", "ids": ["R1"] * 50 + ["R2"]},
        "justification": why,
    }
    assert api.call("POST", "/v1/requests", "T1", json=hidden).status_code in (400, 422)
    asked = api.call(
        "POST",
        "/v1/requests",
        "T1",
        json={**hidden, "resource": {"kind": "review", "ids": ["R1"]}},
    )
    assert asked.status_code == 202
    entry = _entries(api)[-1]
    assert entry["resources"] == ["review:R1"]
    assert entry["extra"]["count"] == 1 and len(entry["extra"]["set"]) == 32


def test_an_export_names_its_fields(api: Api) -> None:
    body = {
        "action": "customer.export",
        "resource": {"kind": "customer", "ids": ["C1"], "fields": []},
        "justification": {"code": "legal"},
    }
    response = api.call("POST", "/v1/requests", "P1", json=body)
    assert response.status_code in (400, 422)
    assert all(e["action"] != "customer.export" for e in _entries(api))


def test_racing_break_glass_grants_respect_the_cap(api: Api) -> None:
    body = {"customer_id": "C2", "reason": "customer locked out, urgent"}
    with ThreadPoolExecutor(12) as pool:
        codes = list(
            pool.map(
                lambda _: api.call("POST", "/v1/break-glass", "A2", json=body).status_code,
                range(12),
            )
        )
    assert codes.count(200) == 3, codes
    grants = [e for e in _entries(api) if e["action"] == "break_glass"]
    assert sum(e["decision"] == "allow" for e in grants) == 3
    assert sum(e["decision"] == "deny" for e in grants) == 9


def test_racing_approvals_give_one_allow(api: Api) -> None:
    asked = api.call(
        "POST",
        "/v1/requests",
        "T1",
        json={
            "action": "review.delete",
            "resource": {"kind": "review", "ids": ["R1"]},
            "justification": {"code": "review_report", "case_id": "K3"},
        },
    ).json()["decision"]
    request_id = asked["request_id"]
    digest = api.call("GET", f"/v1/requests/{request_id}", "T2").json()["digest"]
    approvers = ["T2", "M1", "T2", "M1"] * 5
    for who in ("T2", "M1"):
        api.enroll(who)  # their passkeys exist before the race
    with ThreadPoolExecutor(20) as pool:
        codes = list(
            pool.map(
                lambda who: (
                    api.call(
                        "POST", f"/v1/requests/{request_id}/approve", who, json={"digest": digest}
                    ).status_code
                ),
                approvers,
            )
        )
    assert codes.count(200) == 1, codes
    approvals = [e for e in _entries(api) if e["action"] == "approve.review.delete"]
    assert sum(e["decision"] == "allow" for e in approvals) == 1


def test_racing_case_creation_gives_one_case_and_one_entry(api: Api) -> None:
    bodies = [
        {"case_id": "RACE-1", "kind": "customer_contact", "assignee": a, "customer_id": "C2"}
        for a in ["A1", "A2"] * 4
    ]
    with ThreadPoolExecutor(8) as pool:
        codes = list(
            pool.map(lambda b: api.call("POST", "/v1/cases", "M2", json=b).status_code, bodies)
        )
    assert codes.count(201) == 1, codes
    opened = [e for e in _entries(api) if e["action"] == "case.open" and e["case"] == "RACE-1"]
    assert sum(e["decision"] == "recorded" for e in opened) == 1
    assert sum(e["decision"] == "deny" for e in opened) == 7


def test_investigations_are_bound_and_opened_only_by_those_entitled(api: Api) -> None:
    # I1's investigation K6 names customer C1: not C2.
    reveal = {"fields": ["email"], "justification": {"code": "investigation", "case_id": "K6"}}
    assert api.call("POST", "/v1/customers/C1/reveal", "I1", json=reveal).status_code == 200
    assert api.call("POST", "/v1/customers/C2/reveal", "I1", json=reveal).status_code == 403
    body = {"case_id": "INV-2", "kind": "investigation", "assignee": "I1", "customer_id": "C2"}
    # A support agent or a manager outside I1's chain may not open one; I1's manager may.
    assert api.call("POST", "/v1/cases", "A1", json=body).status_code == 403
    assert api.call("POST", "/v1/cases", "M2", json=body).status_code == 403
    assert api.call("POST", "/v1/cases", "M1", json=body).status_code == 201
    refusals = [e for e in _entries(api) if e["action"] == "case.open" and e["decision"] == "deny"]
    assert [e["reason"] for e in refusals] == ["role_cannot_open", "not_their_manager"]


def test_oversized_and_deep_bodies_are_refused_before_authentication(api: Api) -> None:
    big = b'{"fields": ["email"], "pad": "' + b"x" * (2 << 20) + b'"}'
    for headers in ({}, {"Authorization": f"Bearer {api.token}", "X-Custodes-Employee": "A1"}):
        response = api.client.post(
            "/v1/customers/C1/reveal",
            content=big,
            headers={"content-type": "application/json", **headers},
        )
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/problem+json"
    deep = b"[" * 5000 + b"]" * 5000
    response = api.client.post(
        "/v1/customers/C1/reveal",
        content=deep,
        headers={"content-type": "application/json", "Authorization": f"Bearer {api.token}"},
    )
    assert response.status_code == 400
