"""The forged-names attack of issue 10: one service token holding every scope (the legacy
header included) opens a case as M1 for T1, requests a review deletion as T1, approves it as T2
and executes it as T1, all by naming employees in `X-Custodes-Employee`. Every step is refused,
and every refusal is on the record, marked as a name the service asserted."""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from custodes.access.tokens import SCOPES, create_token
from custodes.ledger.storage import LedgerReader
from custodes.marketplace.models import Case, Review
from tests.support.api import Api

DELETE_R1 = {
    "action": "review.delete",
    "resource": {"kind": "review", "ids": ["R1"]},
    "justification": {"code": "review_report", "case_id": "K3"},
}


def _entries(api: Api) -> list[dict]:
    reader = LedgerReader(api.engine)
    return [json.loads(e) for e in reader.entries(0, reader.head().size)]


def _asserted_deny(api: Api, response, actor: str, action: str) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/problem+json"
    entry = _entries(api)[-1]
    assert entry["decision"] == "deny" and entry["reason"] == "own_proof_required", entry
    assert entry["actor"] == actor and entry["action"] == action, entry
    assert entry["extra"]["proof"] == "asserted" and entry["extra"]["asserted_by"] == "service"
    assert entry["extra"]["svc"]  # which service token asserted the name
    if action != "case.open":  # the door's decisions name their entry; cases raise
        assert response.json()["decision"]["ledger_index"] == len(_entries(api)) - 1
    return entry


def test_forged_names_fail_at_every_step_with_a_recorded_deny(api: Api) -> None:
    assert "employee:assert" in SCOPES  # the token below holds every scope there is
    case = {"case_id": "KF", "kind": "review_report", "assignee": "T1", "customer_id": "C2"}

    # 1. a case opened "as M1" for T1
    opened = api.call("POST", "/v1/cases", "M1", proof="header", json=case)
    _asserted_deny(api, opened, "M1", "case.open")

    # 2. a review deletion requested "as T1"
    asked = api.call("POST", "/v1/requests", "T1", proof="header", json=DELETE_R1)
    _asserted_deny(api, asked, "T1", "review.delete")

    # (T1 asks for real, with their own ID token, so there is something to approve)
    real = api.call("POST", "/v1/requests", "T1", json=DELETE_R1)
    assert real.status_code == 202, real.text
    request_id = real.json()["decision"]["request_id"]
    digest = api.call("GET", f"/v1/requests/{request_id}").json()["digest"]

    # 3. approved "as T2": refused at the challenge and at the finish
    start = api.client.post(
        f"/v1/requests/{request_id}/approval",
        json={"decision": "approve", "digest": digest},
        headers=api.headers("T2", "header"),
    )
    _asserted_deny(api, start, "T2", "approve.review.delete")
    finish = api.client.post(
        f"/v1/requests/{request_id}/approve",
        json={"approval_id": "ap_forged", "credential": {}},
        headers=api.headers("T2", "header"),
    )
    _asserted_deny(api, finish, "T2", "approve.review.delete")

    # (T2 approves for real, with their own passkey)
    assert api.decide("T2", request_id, "approve", digest).status_code == 200

    # 4. executed "as T1"
    executed = api.call("POST", f"/v1/requests/{request_id}/execute", "T1", proof="header")
    _asserted_deny(api, executed, "T1", "review.delete")

    with Session(api.engine) as session:
        assert session.get(Case, "KF") is None
        assert session.get(Review, "R1").status == "published"
    # The refusals were about the proof: with T1's own proof again, the approved request runs.
    done = api.call("POST", f"/v1/requests/{request_id}/execute", "T1")
    assert done.status_code == 200, done.text
    with Session(api.engine) as session:
        assert session.get(Review, "R1").status == "removed"


def test_a_token_without_the_legacy_scope_cannot_name_anyone(api: Api) -> None:
    with Session(api.engine) as session, session.begin():
        _, strict = create_token(session, "strict", [s for s in SCOPES if s != "employee:assert"])
    before = len(_entries(api))
    for method, path, body in (
        ("POST", "/v1/cases", {"case_id": "KG", "kind": "review_report", "assignee": "T1"}),
        ("POST", "/v1/requests", DELETE_R1),
        ("GET", "/v1/reviews/R1", None),
    ):
        response = api.client.request(
            method,
            path,
            json=body,
            headers={"Authorization": f"Bearer {strict}", "X-Custodes-Employee": "T1"},
        )
        assert response.status_code == 401, response.text
        assert response.headers["content-type"] == "application/problem+json"
    refusals = _entries(api)[before:]
    assert len(refusals) == 3
    for entry in refusals:
        assert entry["action"] == "employee.authenticate" and entry["decision"] == "deny"
        assert entry["reason"] == "employee_header_not_trusted"
        assert entry["actor"].startswith("svc:") and '"T1"' not in json.dumps(entry)
