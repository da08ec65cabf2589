"""`/v1/policy/proposals`: a privacy officer changes the policy in person, signed in with a
passkey (no identity provider needed) or with their ID token, and no service token. Nobody can
propose or execute as someone else; refusals that name their sender are recorded denies. On
SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from custodes.access.models import PolicyProposal
from custodes.access.policy import default_policy_text
from custodes.access.policy_store import current_policy
from tests.support.api import DELETE_R1, Api

PROPOSE = "/v1/policy/proposals"
TEXT = default_policy_text() + "\n// reviewed by legal\n"
SHA = hashlib.sha256(TEXT.encode()).hexdigest()


def _entries(api: Api) -> list[dict]:  # type: ignore[type-arg]
    return api.entries("policy.apply")


def approve_in_inbox(api: Api, approver: str, request_id: str):  # type: ignore[no-untyped-def]
    """The second privacy officer approves on the pages: their session and their passkey."""
    authenticator = api.enroll(approver)
    with api.signed_in(approver) as csrf:
        start = api.client.post(
            "/inbox/options", json={"request_id": request_id, "decision": "approve"}, headers=csrf
        )
        assert start.status_code == 200, start.text
        credential = authenticator.assert_(json.dumps(start.json()["options"]))
        answer = {"approval_id": start.json()["approval_id"], "credential": credential}
        return api.client.post("/inbox/finish", json=answer, headers=csrf)


def _proposals(api: Api) -> int:
    with Session(api.engine) as session:
        return int(session.scalar(select(func.count()).select_from(PolicyProposal)) or 0)


def test_a_signed_in_privacy_officer_proposes_and_executes_under_dual_control(api: Api) -> None:
    with api.signed_in("P1") as csrf:
        asked = api.client.post(PROPOSE, json={"text": TEXT}, headers=csrf)
    assert asked.status_code == 202, asked.text
    request_id = asked.json()["decision"]["request_id"]
    [entry] = _entries(api)
    assert (entry["actor"], entry["decision"]) == ("P1", "pending")
    assert entry["extra"]["proof"] == "session" and "svc" not in entry["extra"]
    assert entry["resources"] == [f"policy:{SHA}"]
    with api.signed_in("P1") as csrf:
        early = api.client.post(f"{PROPOSE}/{request_id}/execute", headers=csrf)
    assert early.status_code == 403 and "not_approved" in early.text
    approved = approve_in_inbox(api, "P2", request_id)  # passkeys and sessions only, no OIDC
    assert approved.status_code == 200, approved.text
    with api.signed_in("P2") as csrf:  # the approver cannot carry it out for the proposer
        other = api.client.post(f"{PROPOSE}/{request_id}/execute", headers=csrf)
    assert other.status_code == 404 and "of yours" in other.text, other.text
    with api.signed_in("P1") as csrf:
        done = api.client.post(f"{PROPOSE}/{request_id}/execute", headers=csrf)
    assert done.status_code == 200, done.text
    assert done.json()["result"]["sha256"] == SHA
    assert current_policy(api.engine).sha256 == SHA
    last = _entries(api)[-1]
    assert (last["actor"], last["decision"], last["extra"]["proof"]) == ("P1", "allow", "session")


def test_no_one_proposes_as_someone_else(api: Api) -> None:
    """The attack: a service (even one trusted to name employees for reads) names P1; a body
    naming a proposer; an anonymous caller. None proposes anything."""
    named = api.client.post(
        PROPOSE,
        json={"text": TEXT},
        headers={"Authorization": f"Bearer {api.token}", "X-Custodes-Employee": "P1"},
    )
    assert named.status_code == 401 and "no_employee_proof" in named.text
    smuggled = api.client.post(PROPOSE, json={"text": TEXT, "proposed_by": "P1"})
    assert smuggled.status_code == 422  # no such field: the proposer is only ever the proven one
    asserted = api.call("POST", "/v1/policy", "P1", "header", json={"text": TEXT})
    assert asserted.status_code == 403 and "own_proof_required" in asserted.text
    denies = _entries(api)
    assert [(e["actor"], e["reason"]) for e in denies] == [("P1", "own_proof_required")]
    assert _proposals(api) == 0


def test_a_session_without_its_csrf_token_or_from_another_site_is_a_recorded_deny(
    api: Api,
) -> None:
    with api.signed_in("P1") as csrf:
        forged = api.client.post(PROPOSE, json={"text": TEXT})
        foreign = api.client.post(
            PROPOSE, json={"text": TEXT}, headers={**csrf, "Origin": "https://evil.example"}
        )
    assert forged.status_code == 403 and "csrf" in forged.text
    assert foreign.status_code == 403 and "cross_origin" in foreign.text
    assert [(e["actor"], e["decision"], e["reason"]) for e in _entries(api)] == [
        ("P1", "deny", "csrf"),
        ("P1", "deny", "cross_origin"),
    ]
    assert _proposals(api) == 0


def test_an_employee_who_is_no_privacy_officer_is_a_recorded_deny(api: Api) -> None:
    with api.signed_in("A1") as csrf:
        refused = api.client.post(PROPOSE, json={"text": TEXT}, headers=csrf)
    assert refused.status_code == 403 and "not_policy_admin" in refused.text
    assert [(e["actor"], e["reason"]) for e in _entries(api)] == [("A1", "not_policy_admin")]
    assert _proposals(api) == 0


def test_an_id_token_proves_the_proposer_without_a_service(api: Api) -> None:
    token = {"X-Custodes-Employee-Token": api.id_token("P1")}
    asked = api.client.post(PROPOSE, json={"text": TEXT}, headers=token)
    assert asked.status_code == 202, asked.text
    extra = _entries(api)[-1]["extra"]
    assert extra["proof"] == "oidc" and str(extra["proof_ref"]).startswith("jwt:")
    expired = api.id_token("P1", iat=0, exp=1)
    stale = api.client.post(
        PROPOSE, json={"text": TEXT}, headers={"X-Custodes-Employee-Token": expired}
    )
    assert stale.status_code == 401 and "token_expired" in stale.text
    suspended = {"X-Custodes-Employee-Token": api.id_token("X1")}
    refused = api.client.post(PROPOSE, json={"text": TEXT}, headers=suspended)
    assert refused.status_code == 403, refused.text
    assert [(e["actor"], e["decision"]) for e in _entries(api)][-1] == ("X1", "deny")


def test_bad_text_unknown_and_foreign_requests(api: Api) -> None:
    with api.signed_in("P1") as csrf:
        bad = api.client.post(PROPOSE, json={"text": "permit(principal, action"}, headers=csrf)
        unknown = api.client.post(f"{PROPOSE}/rq_nothing/execute", headers=csrf)
    assert bad.status_code == 400 and bad.headers["content-type"] == "application/problem+json"
    assert unknown.status_code == 404
    asked = api.call("POST", "/v1/requests", "T1", json=DELETE_R1)
    request_id = asked.json()["decision"]["request_id"]
    with api.signed_in("T1") as csrf:  # not a policy change: its own route keeps its rules
        foreign = api.client.post(f"{PROPOSE}/{request_id}/execute", headers=csrf)
    assert foreign.status_code == 404
    anonymous = api.client.post(f"{PROPOSE}/{request_id}/execute")
    assert anonymous.status_code == 401
