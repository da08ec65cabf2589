"""Who acts on `/v1`, proven over HTTP: ID tokens against a JWKS served on loopback (keys made
here), sessions with CSRF, and the legacy header; every refusal a recorded 401, and every
decision saying how its actor was proven."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from custodes.identity import audit_approvals
from custodes.identity.sessions import COOKIE_NAME
from custodes.ledger.storage import LedgerReader
from tests.support.api import AUDIENCE, ISSUER, Api
from tests.support.identity import ProviderKey, make_key

REVEAL_C1 = {"fields": ["email"], "justification": {"code": "customer_contact", "case_id": "K1"}}
DELETE_R1 = {
    "action": "review.delete",
    "resource": {"kind": "review", "ids": ["R1"]},
    "justification": {"code": "review_report", "case_id": "K3"},
}


def _entries(api: Api) -> list[dict]:
    reader = LedgerReader(api.engine)
    return [json.loads(e) for e in reader.entries(0, reader.head().size)]


def _token(key: ProviderKey, **overrides: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "employee_id": "A1",
        "iat": now,
        "exp": now + 300,
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key.private, algorithm=key.alg, headers={"kid": key.kid})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _reveal(api: Api, id_token: str, **headers: str):  # type: ignore[no-untyped-def]
    return api.client.post(
        "/v1/customers/C1/reveal",
        json=REVEAL_C1,
        headers={
            "Authorization": f"Bearer {api.token}",
            "X-Custodes-Employee-Token": id_token,
            **headers,
        },
    )


@pytest.mark.parametrize("kid", ["rsa-1", "ec-1", "ed-1"])
def test_a_reveal_on_an_id_token_records_the_proof(api: Api, kid: str) -> None:
    key = next(k for k in api.provider.keys if k.kid == kid)
    id_token = _token(key)
    response = _reveal(api, id_token)
    assert response.status_code == 200, response.text
    assert response.json()["values"] == {"email": "quentin.q@mailbox.example"}
    entry = _entries(api)[-1]
    assert entry["actor"] == "A1" and entry["decision"] == "allow"
    assert entry["extra"]["proof"] == "oidc" and entry["extra"]["svc"]
    digest = hashlib.sha256(id_token.encode()).hexdigest()
    assert entry["extra"]["proof_ref"] == "jwt:" + digest[:32]
    assert "asserted_by" not in entry["extra"]
    assert id_token not in json.dumps(_entries(api))


def test_a_header_decision_is_marked_asserted_by_the_service(api: Api) -> None:
    response = api.call("POST", "/v1/customers/C1/reveal", "A1", json=REVEAL_C1)
    assert response.status_code == 200, response.text
    extra = _entries(api)[-1]["extra"]
    assert extra["proof"] == "asserted" and extra["asserted_by"] == "service" and extra["svc"]


def _refusals(provider_key: ProviderKey, other: ProviderKey) -> dict[str, str]:
    now = int(time.time())
    header = {"alg": "HS256", "typ": "JWT", "kid": provider_key.kid}
    claims = {"iss": ISSUER, "aud": AUDIENCE, "employee_id": "A1", "iat": now, "exp": now + 300}
    signing_input = (
        _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
    ).encode()
    public_pem = provider_key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    hs256 = signing_input.decode() + "." + _b64(hmac.digest(public_pem, signing_input, "sha256"))
    none = jwt.encode(claims, None, algorithm="none", headers={"kid": provider_key.kid})
    return {
        "wrong_issuer": _token(provider_key, iss="https://evil.test"),
        "wrong_audience": _token(provider_key, aud="someone-else"),
        "token_expired": _token(provider_key, exp=now - 3600, iat=now - 7200),
        "alg_not_allowed": none,
        "alg_not_allowed ": hs256,  # HMAC "signed" with the provider's public key
        "unknown_kid": _token(other),
        "employee_suspended": _token(provider_key, employee_id="X1"),
        "malformed_token": "not-a-jwt",
    }


def test_every_refused_id_token_is_a_recorded_401(api: Api) -> None:
    stranger = make_key("rogue-1", "ES256")  # never published by the provider
    for expected, id_token in _refusals(api.provider.keys[0], stranger).items():
        before = len(_entries(api))
        response = _reveal(api, id_token)
        assert response.status_code == 401, (expected, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert "quentin" not in response.text
        [entry] = _entries(api)[before:]  # the refusal, and no decision
        assert entry["action"] == "employee.authenticate" and entry["decision"] == "deny"
        assert entry["reason"] == expected.strip(), (expected, entry)
        assert entry["extra"]["proof"] == "oidc" and entry["actor"].startswith("svc:")
        assert id_token not in json.dumps(entry)


def test_a_name_beside_a_proof_must_be_the_proven_one(api: Api) -> None:
    response = _reveal(api, api.id_token("A1"), **{"X-Custodes-Employee": "A2"})
    assert response.status_code == 401
    assert _entries(api)[-1]["reason"] == "employee_mismatch"


def test_the_provider_rotates_its_key(api: Api) -> None:
    old = api.provider.keys[1]
    assert _reveal(api, _token(old)).status_code == 200
    new = make_key("ec-2", "ES256")
    api.provider.keys = [new]  # rotated: the new kid is fetched on first sight
    response = _reveal(api, _token(new))
    assert response.status_code == 200, response.text
    assert _entries(api)[-1]["extra"]["proof"] == "oidc"


def test_a_session_proves_the_employee_and_guards_changes_with_csrf(api: Api) -> None:
    api.enroll("A1")
    new = api.sessions["A1"]
    api.client.cookies.set(COOKIE_NAME, new.cookie)
    try:
        bearer = {"Authorization": f"Bearer {api.token}"}
        read = api.client.get("/v1/customers/C1", params={"case_id": "K1"}, headers=bearer)
        assert read.status_code == 200, read.text
        assert _entries(api)[-1]["extra"]["proof"] == "session"
        before = len(_entries(api))
        forged = api.client.post("/v1/customers/C1/reveal", json=REVEAL_C1, headers=bearer)
        assert forged.status_code == 401
        [entry] = _entries(api)[before:]
        assert entry["reason"] == "csrf" and entry["extra"]["proof"] == "session"
        csrf = {**bearer, "X-CSRF-Token": new.session.csrf_token}
        shown = api.client.post("/v1/customers/C1/reveal", json=REVEAL_C1, headers=csrf)
        assert shown.status_code == 200, shown.text
        extra = _entries(api)[-1]["extra"]
        assert extra["proof"] == "session" and extra["proof_ref"] == new.session.session_ref
    finally:
        api.client.cookies.clear()


def test_a_request_is_bound_to_its_requester_and_approvals_audit_offline(api: Api) -> None:
    asked = api.call("POST", "/v1/requests", "T1", json=DELETE_R1)
    assert asked.status_code == 202, asked.text
    request_id = asked.json()["decision"]["request_id"]
    entry = _entries(api)[-1]
    assert entry["actor"] == "T1" and entry["decision"] == "pending"
    assert entry["extra"]["proof"] == "oidc" and entry["extra"]["svc"]  # who, and which token
    # The requester may not approve; an independent approver does, with their passkey.
    assert api.decide("T1", request_id).json()["decision"]["reason"] == "not_independent"
    assert api.decide("T2", request_id).status_code == 200
    approval = _entries(api)[-1]
    assert approval["actor"] == "T2" and approval["decision"] == "allow"
    assert approval["extra"]["webauthn.approval"] is True
    assert approval["extra"]["proof"] == "oidc"
    # Someone else's own proof does not execute T1's request; T1's does, once.
    assert api.call("POST", f"/v1/requests/{request_id}/execute", "T2").status_code == 404
    assert api.call("POST", f"/v1/requests/{request_id}/execute", "T1").status_code == 200
    indexed = list(enumerate(_entries(api)))
    report = audit_approvals(indexed)
    assert report.ok, report.failures
    assert report.approvals == 2 and report.credentials == 2


def test_a_replayed_or_foreign_assertion_is_a_recorded_deny(api: Api) -> None:
    asked = api.call("POST", "/v1/requests", "T1", json=DELETE_R1)
    request_id = asked.json()["decision"]["request_id"]
    digest = api.call("GET", f"/v1/requests/{request_id}").json()["digest"]
    api.enroll("T2")
    requester = api.enroll("T1")
    start = api.client.post(
        f"/v1/requests/{request_id}/approval",
        json={"decision": "approve", "digest": digest},
        headers=api.headers("T2", "oidc"),
    )
    assert start.status_code == 200, start.text
    # The requester's authenticator answers T2's challenge: refused, recorded.
    foreign = requester.assert_(json.dumps(start.json()["options"]))
    body = {"approval_id": start.json()["approval_id"], "credential": foreign}
    refused = api.client.post(
        f"/v1/requests/{request_id}/approve", json=body, headers=api.headers("T2", "oidc")
    )
    assert refused.status_code == 403
    entry = _entries(api)[-1]
    assert entry["decision"] == "deny" and entry["actor"] == "T2"
    assert entry["reason"] in ("unregistered_credential", "not_approvers_credential")
    # A used challenge cannot be answered again (replay): refused, recorded.
    again = api.client.post(
        f"/v1/requests/{request_id}/approve", json=body, headers=api.headers("T2", "oidc")
    )
    assert again.status_code == 403 and _entries(api)[-1]["decision"] == "deny"
    # A stale digest is refused at the challenge.
    stale = api.client.post(
        f"/v1/requests/{request_id}/approval",
        json={"decision": "approve", "digest": "0" * 64},
        headers=api.headers("T2", "oidc"),
    )
    assert stale.status_code == 403 and _entries(api)[-1]["reason"] == "request_modified"
