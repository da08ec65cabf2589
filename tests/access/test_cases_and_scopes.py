"""Case management is itself guarded (no self-assignment, active actors, who may close) and
ledgered; executing a PII request needs the reveal scope; a refused break-glass review ends
the grant; every error, even an unexpected one, is problem+json without echoed input."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from custodes.access.tokens import create_token
from custodes.ledger.storage import LedgerReader
from tests.support.api import Api
from tests.support.api import approve_change as _approve
from tests.support.api import request_change as _request

REVEAL_C2 = {"fields": ["email"], "justification": {"code": "customer_contact", "case_id": "KN"}}
REVEAL_C1 = {"fields": ["email"], "justification": {"code": "customer_contact", "case_id": "K1"}}
CASE_C2_FOR_A2 = {
    "case_id": "KN",
    "kind": "customer_contact",
    "assignee": "A2",
    "customer_id": "C2",
}


def _entries(api: Api) -> list[dict]:
    reader = LedgerReader(api.engine)
    return [json.loads(e) for e in reader.entries(0, reader.head().size)]


def test_nobody_opens_a_case_for_themselves(api: Api) -> None:
    before = len(_entries(api))
    response = api.call("POST", "/v1/cases", "A2", json=CASE_C2_FOR_A2)
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert api.call("POST", "/v1/customers/C2/reveal", "A2", json=REVEAL_C2).status_code == 403
    entries = _entries(api)[before:]  # the refused opening, then the denied reveal
    assert [(e["action"], e["decision"]) for e in entries] == [
        ("case.open", "deny"),
        ("customer.view", "deny"),
    ]
    assert entries[0]["reason"] == "self_assignment"


def test_a_manager_opens_a_case_it_is_ledgered_and_it_lets_the_assignee_read(api: Api) -> None:
    opened = api.call("POST", "/v1/cases", "M2", json=CASE_C2_FOR_A2)
    assert opened.status_code == 201, opened.text
    assert opened.json()["assignee"] == "A2" and opened.json()["closed_at"] is None
    entry = _entries(api)[-1]
    assert (entry["action"], entry["actor"], entry["extra"]["assignee"]) == (
        "case.open",
        "M2",
        "A2",
    )
    assert any(r.startswith("customer:cp_") for r in entry["resources"])
    assert "C2" not in json.dumps(entry)  # the customer appears only as a pseudonym
    assert api.call("POST", "/v1/customers/C2/reveal", "A2", json=REVEAL_C2).status_code == 200
    assert api.call("POST", "/v1/cases", "M2", json=CASE_C2_FOR_A2).status_code == 409


# X1 is suspended: their own ID token is refused before the door (401, recorded).
@pytest.mark.parametrize(("actor", "status"), [("X1", 401), ("D1", 403), ("A2", 403)])
def test_only_the_assignee_their_managers_or_privacy_close_a_case(
    api: Api, actor: str, status: int
) -> None:
    assert api.call("POST", "/v1/cases/K1/close", actor).status_code == status
    assert api.call("POST", "/v1/customers/C1/reveal", "A1", json=REVEAL_C1).status_code == 200


def test_a_manager_closes_a_case_once_and_the_close_is_ledgered(api: Api) -> None:
    closed = api.call("POST", "/v1/cases/K1/close", "M2")
    assert closed.status_code == 200, closed.text
    assert closed.json()["closed_at"]
    assert _entries(api)[-1]["action"] == "case.close"
    assert api.call("POST", "/v1/cases/K1/close", "M2").status_code == 409
    assert api.call("POST", "/v1/customers/C1/reveal", "A1", json=REVEAL_C1).status_code == 403


def test_a_suspended_employee_opens_no_case(api: Api) -> None:
    body = {**CASE_C2_FOR_A2, "case_id": "KS"}
    # A suspended employee's own proof is refused before the door (401, recorded); a service
    # asserting their name is refused by the door's rule (403, recorded).
    assert api.call("POST", "/v1/cases", "X1", json=body).status_code == 401
    assert _entries(api)[-1]["reason"] == "employee_suspended"
    assert api.call("POST", "/v1/cases", "X1", proof="header", json=body).status_code == 403
    assert _entries(api)[-1]["reason"] == "own_proof_required"


def test_executing_an_export_needs_the_reveal_scope(api: Api) -> None:
    body = {
        "action": "customer.export",
        "resource": {"kind": "customer", "ids": ["C1"], "fields": ["email"]},
        "justification": {"code": "legal", "text": "subject access request"},
    }
    request_id, digest = _request(api, body, employee="P1")
    assert _approve(api, request_id, digest, "P2").status_code == 200
    with Session(api.engine) as session, session.begin():
        _, narrow = create_token(session, "workflow", ["requests:write"])
    response = api.client.post(
        f"/v1/requests/{request_id}/execute",
        headers={
            "Authorization": f"Bearer {narrow}",
            "X-Custodes-Employee-Token": api.id_token("P1"),
        },
    )
    assert response.status_code == 403 and "quentin" not in response.text
    # With the scope, it executes (once).
    done = api.call("POST", f"/v1/requests/{request_id}/execute", "P1")
    assert done.status_code == 200 and done.json()["result"]["C1"]["email"]


def test_a_refused_break_glass_review_ends_the_grant(api: Api) -> None:
    reveal = {"fields": ["phone"], "justification": {"code": "customer_contact"}}
    granted = api.call(
        "POST",
        "/v1/break-glass",
        "A2",
        json={"customer_id": "C2", "reason": "customer locked out, fraud call"},
    )
    review_id = granted.json()["result"]["review_request_id"]
    assert api.call("POST", "/v1/customers/C2/reveal", "A2", json=reveal).status_code == 200
    refused = api.call("POST", f"/v1/requests/{review_id}/refuse", "P1")
    assert refused.status_code == 200, refused.text
    assert api.call("POST", "/v1/customers/C2/reveal", "A2", json=reveal).status_code == 403


def test_unknown_keys_are_not_echoed(api: Api) -> None:
    body = {**REVEAL_C2, "jane.doe@example.com": 1}
    response = api.call("POST", "/v1/customers/C2/reveal", "A2", json=body)
    assert response.status_code == 422 and "jane.doe" not in response.text


def test_an_unexpected_error_is_a_problem_without_its_message(api: Api, monkeypatch) -> None:
    door = api.client.app.state.door

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("quentin.q@mailbox.example broke it")

    monkeypatch.setattr(door, "reveal_async", broken)
    monkeypatch.setattr(door, "reveal", broken)
    response = api.call("POST", "/v1/customers/C1/reveal", "A1", json=REVEAL_C1)
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "quentin" not in response.text


def test_a_support_agent_reads_contact_fields_only_under_a_contact_case(api: Api) -> None:
    """A case of another kind that happens to name the customer is not a reason to read them."""
    body = {**CASE_C2_FOR_A2, "kind": "seller_support", "seller_id": "SA"}
    assert api.call("POST", "/v1/cases", "M2", json=body).status_code == 201
    assert api.call("POST", "/v1/customers/C2/reveal", "A2", json=REVEAL_C2).status_code == 403


def test_a_request_names_records_of_the_kind_its_action_acts_on(api: Api) -> None:
    body = {
        "action": "customer.export",
        "resource": {"kind": "review", "ids": ["R1"]},
        "justification": {"code": "legal"},
    }
    assert api.call("POST", "/v1/requests", "P1", json=body).status_code == 400


def test_break_glass_is_capped_per_day_and_the_refusal_is_recorded(api: Api) -> None:
    api.client.app.state.door.config.break_glass_per_day = 2
    body = {"customer_id": "C2", "reason": "customer locked out, fraud call"}
    for _ in range(2):
        assert api.call("POST", "/v1/break-glass", "A2", json=body).status_code == 200
    refused = api.call("POST", "/v1/break-glass", "A2", json=body)
    assert refused.status_code == 403
    last = _entries(api)[-1]
    assert (last["action"], last["decision"], last["reason"]) == (
        "break_glass",
        "deny",
        "break_glass_limit",
    )


def test_search_by_body_keeps_the_address_out_of_the_url(api: Api) -> None:
    body = {"email": "quentin.q@mailbox.example", "case_id": "K1"}
    found = api.call("POST", "/v1/customers/search", "A1", json=body)
    assert found.status_code == 200, found.text
    results = found.json()["results"]
    assert [r["customer_id"] for r in results] == ["C1"] and "quentin" not in found.text


def test_racing_executions_are_recorded_as_one_allow(api: Api) -> None:
    request_id, digest = _request(api)  # T1 asks to delete R1
    assert _approve(api, request_id, digest, "T2").status_code == 200
    door = api.client.app.state.door
    before = len(_entries(api))
    start = threading.Barrier(6)

    def execute() -> str:
        start.wait()
        try:
            return door.execute("T1", request_id).decision.outcome
        except Exception as exc:  # a conflict is a fine answer for the losers
            return type(exc).__name__

    with ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(lambda _: execute(), range(6)))
    assert outcomes.count("allow") == 1
    recorded = [e["decision"] for e in _entries(api)[before:]]
    assert recorded.count("allow") == 1, recorded


def test_a_digit_heavy_id_is_still_recorded_but_as_a_keyed_digest(api: Api) -> None:
    before = len(_entries(api))
    response = api.call("GET", "/v1/orders/O41555501234", "A1", params={"case_id": "K1"})
    assert response.status_code == 404  # no such order, and the attempt is on the record
    entries = _entries(api)[before:]
    assert len(entries) == 1 and "41555501234" not in json.dumps(entries[0])
    assert entries[0]["resources"][0].startswith("order:id_")


@pytest.mark.parametrize(
    ("actor", "proof", "assignee", "status", "reason"),
    [
        ("M2", "header", "GHOSTASSIGNEE7", 403, "own_proof_required"),  # a service's word
        ("A2", None, "A2", 403, "self_assignment"),  # refused before the seller is looked up
    ],
)
def test_a_refused_case_opening_writes_no_caller_typed_id_in_the_clear(
    api: Api, actor: str, proof: str | None, assignee: str, status: int, reason: str
) -> None:
    """Refusals are recorded before the case's seller (or assignee) is looked up: whatever the
    caller typed there, and the case id of a case that was never created, enter the public
    ledger and the access index only as keyed digests (issue 9, the PII guard)."""
    body = {
        "case_id": "CALLERTYPEDCASE7",
        "kind": "customer_contact",
        "assignee": assignee,
        "seller_id": "GHOSTSELLER7",
    }
    before = len(_entries(api))
    assert api.call("POST", "/v1/cases", actor, proof=proof, json=body).status_code == status
    entries = _entries(api)[before:]
    assert [(e["action"], e["decision"], e["reason"]) for e in entries] == [
        ("case.open", "deny", reason)
    ]
    written = json.dumps(entries)
    for typed in ("CALLERTYPEDCASE7", "GHOSTSELLER7", "GHOSTASSIGNEE7"):
        assert typed not in written
    with Session(api.engine) as session:
        rows = session.execute(text("SELECT subject_id FROM ledger_access_index")).scalars()
        assert not {"CALLERTYPEDCASE7", "GHOSTSELLER7"} & set(rows)
    assert entries[0]["case"].startswith("id_")
    assert entries[0]["resources"][0] == f"case:{entries[0]['case']}"
