"""`POST /v1/customers/{id}/erase`: a privacy officer crypto-shreds a customer in person, signed
in with a passkey (the embedded default, no identity provider needed) or with their ID token,
and no service token. Nobody erases in someone else's name; refusals that name their sender
are recorded denies and leave the customer's data key in place. On SQLite and PostgreSQL."""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from custodes.ledger.storage import LedgerReader
from custodes.vault.models import VaultRecord
from tests.support.api import Api

CONFIRM = {"confirm": True}


def _erase(customer: str) -> str:
    return f"/v1/customers/{customer}/erase"


def _entries(api: Api) -> list[dict]:  # type: ignore[type-arg]
    return api.entries("customer.erase")


def _shredded(api: Api, customer: str) -> bool:
    with Session(api.engine) as session:
        row = session.get(VaultRecord, customer)
        assert row is not None
        assert (row.wrapped_key is None) == (row.shredded_at is not None)
        return row.shredded_at is not None


def test_a_signed_in_privacy_officer_erases_on_the_record(api: Api) -> None:
    with api.signed_in("P1") as csrf:
        done = api.client.post(_erase("C1"), json=CONFIRM, headers=csrf)
    assert done.status_code == 200, done.text
    assert done.json()["result"] == {"erased": True}
    [entry] = _entries(api)
    assert (entry["actor"], entry["decision"]) == ("P1", "recorded")
    assert entry["extra"]["proof"] == "session" and "svc" not in entry["extra"]
    assert entry["resources"][0].startswith("customer:") and "C1" not in json.dumps(entry)
    assert done.json()["decision"]["ledger_index"] == entry_index(api, entry)
    assert _shredded(api, "C1") and not _shredded(api, "C2")


def entry_index(api: Api, wanted: dict) -> int:  # type: ignore[type-arg]
    reader = LedgerReader(api.engine)
    for index, data in enumerate(reader.entries(0, reader.head().size)):
        if json.loads(data) == wanted:
            return index
    raise AssertionError("entry not in the ledger")


def test_no_one_erases_in_someone_elses_name(api: Api) -> None:
    """The attack: a service (even one trusted to name employees for reads) names P1; a body
    naming the officer; an anonymous caller. None erases anything."""
    named = api.client.post(
        _erase("C1"),
        json=CONFIRM,
        headers={"Authorization": f"Bearer {api.token}", "X-Custodes-Employee": "P1"},
    )
    assert named.status_code == 401 and "no_employee_proof" in named.text
    smuggled = api.client.post(_erase("C1"), json={**CONFIRM, "operator": "P1"})
    assert smuggled.status_code == 422  # no such field: the officer is only ever the proven one
    anonymous = api.client.post(_erase("C1"), json=CONFIRM)
    assert anonymous.status_code == 401
    assert _entries(api) == []  # nobody was proven: nothing names anyone
    assert not _shredded(api, "C1")


def test_a_session_without_its_csrf_token_or_from_another_site_is_a_recorded_deny(
    api: Api,
) -> None:
    with api.signed_in("P1") as csrf:
        forged = api.client.post(_erase("C1"), json=CONFIRM)
        foreign = api.client.post(
            _erase("C1"), json=CONFIRM, headers={**csrf, "Origin": "https://evil.example"}
        )
    assert forged.status_code == 403 and "csrf" in forged.text
    assert foreign.status_code == 403 and "cross_origin" in foreign.text
    assert [(e["actor"], e["decision"], e["reason"]) for e in _entries(api)] == [
        ("P1", "deny", "csrf"),
        ("P1", "deny", "cross_origin"),
    ]
    assert not _shredded(api, "C1")


def test_an_employee_who_is_no_privacy_officer_is_a_recorded_deny(api: Api) -> None:
    with api.signed_in("A1") as csrf:
        refused = api.client.post(_erase("C1"), json=CONFIRM, headers=csrf)
    assert refused.status_code == 403 and "not_privacy_officer" in refused.text
    assert [(e["actor"], e["reason"]) for e in _entries(api)] == [("A1", "not_privacy_officer")]
    assert not _shredded(api, "C1")


def test_an_id_token_proves_the_officer_without_a_service(api: Api) -> None:
    suspended = {"X-Custodes-Employee-Token": api.id_token("X1")}
    refused = api.client.post(_erase("C1"), json=CONFIRM, headers=suspended)
    assert refused.status_code == 403, refused.text
    assert [(e["actor"], e["decision"]) for e in _entries(api)] == [("X1", "deny")]
    expired = {"X-Custodes-Employee-Token": api.id_token("P1", iat=0, exp=1)}
    stale = api.client.post(_erase("C1"), json=CONFIRM, headers=expired)
    assert stale.status_code == 401 and "token_expired" in stale.text
    assert not _shredded(api, "C1")
    token = {"X-Custodes-Employee-Token": api.id_token("P1")}
    done = api.client.post(_erase("C1"), json=CONFIRM, headers=token)
    assert done.status_code == 200, done.text
    extra = _entries(api)[-1]["extra"]
    assert extra["proof"] == "oidc" and str(extra["proof_ref"]).startswith("jwt:")
    assert _shredded(api, "C1")


def test_unconfirmed_unknown_and_already_erased(api: Api) -> None:
    with api.signed_in("P1") as csrf:
        unconfirmed = api.client.post(_erase("C1"), json={"confirm": False}, headers=csrf)
        empty = api.client.post(_erase("C1"), json={}, headers=csrf)
        unknown = api.client.post(_erase("C404"), json=CONFIRM, headers=csrf)
        first = api.client.post(_erase("C2"), json=CONFIRM, headers=csrf)
        again = api.client.post(_erase("C2"), json=CONFIRM, headers=csrf)
    assert unconfirmed.status_code == 422 and empty.status_code == 422
    assert unknown.status_code == 404
    assert first.status_code == 200, first.text
    assert again.status_code == 409 and again.headers["content-type"] == "application/problem+json"
    assert [(e["decision"], e["reason"]) for e in _entries(api)] == [
        ("deny", "unknown_resource"),
        ("recorded", "privacy_officer"),
        ("deny", "already_erased"),
    ]
    assert not _shredded(api, "C1")
