"""`custodes customers erase` crypto-shreds a customer in a privacy officer's name only on that
officer's own proof (an OIDC ID token in a file, checked against a real JWKS on loopback). An
operator naming an officer with no token, with another employee's token or with no identity
provider is a recorded deny, and the customer's data key is untouched. On SQLite and
PostgreSQL (the command's CUSTODES_DATABASE_URL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from custodes.vault.models import VaultRecord
from tests.support.cli import Result
from tests.support.idp import signed_token
from tests.support.office import Office, office_home


class Erasing(Office):
    """Customers C1 and C2, privacy officers E9 and E8."""

    def erase(
        self, customer: str, by: str, token: str | None, oidc: bool = True, ok: bool = False
    ) -> Result:
        args = ["customers", "erase", customer, "--operator", by, "--yes"]
        return self.run_as(args, token, oidc=oidc, ok=ok)

    def erasures(self) -> list[dict[str, object]]:
        return self.entries("customer.erase")

    def shredded(self, customer: str) -> bool:
        engine = create_engine(self.db_url)
        try:
            with engine.connect() as conn:
                row = conn.execute(
                    select(VaultRecord.wrapped_key, VaultRecord.shredded_at).where(
                        VaultRecord.customer_id == customer
                    )
                ).one()
        finally:
            engine.dispose()
        assert (row.wrapped_key is None) == (row.shredded_at is not None)
        return row.shredded_at is not None


@pytest.fixture
def office(tmp_path: Path, db_url: str) -> Iterator[Erasing]:
    with office_home(tmp_path, db_url) as (home, provider):
        yield Erasing(home, db_url, provider, tmp_path)


def test_erasing_in_an_officers_name_without_their_proof_is_a_recorded_deny(
    office: Erasing,
) -> None:
    """The attack: an operator's shell names privacy officer E9 and erases without E9's proof."""
    bare = office.erase("C1", "E9", None)
    assert "own_proof_required" in bare.stderr
    assert "--id-token-file" in bare.stderr and "/v1/customers/C1/erase" in bare.stderr
    other = office.erase("C1", "E9", signed_token(office.provider, "E8"))
    assert "employee_mismatch" in other.stderr
    no_idp = office.erase("C1", "E9", signed_token(office.provider, "E9"), oidc=False)
    assert "oidc_not_configured" in no_idp.stderr
    denies = office.erasures()
    assert [(e["actor"], e["decision"], e["reason"]) for e in denies] == [
        ("E9", "deny", "own_proof_required"),
        ("E9", "deny", "employee_mismatch"),
        ("E9", "deny", "oidc_not_configured"),
    ]
    assert all(str(e["resources"][0]).startswith("customer:") for e in denies)  # type: ignore[index]
    assert not office.shredded("C1")  # nothing was erased


def test_the_officers_own_token_erases_with_proof_on_record(office: Erasing) -> None:
    done = office.erase("C1", "E9", signed_token(office.provider, "E9"), ok=True)
    assert "customer C1 erased" in done.stdout
    [entry] = office.erasures()
    extra = entry["extra"]
    assert isinstance(extra, dict)
    assert (entry["actor"], entry["decision"]) == ("E9", "recorded")
    assert extra["proof"] == "oidc" and str(extra["proof_ref"]).startswith("jwt:")
    assert str(extra["ran_by"]).startswith("os:")  # the shell that carried the officer's proof
    assert office.shredded("C1") and not office.shredded("C2")
    again = office.erase("C1", "E9", signed_token(office.provider, "E9"))
    assert "already erased" in again.stderr
    assert [(e["decision"], e["reason"]) for e in office.erasures()][-1] == (
        "deny",
        "already_erased",
    )


def test_a_proven_employee_who_is_no_privacy_officer_is_a_recorded_deny(office: Erasing) -> None:
    refused = office.erase("C1", "E2", signed_token(office.provider, "E2"))
    assert "not_privacy_officer" in refused.stderr
    [entry] = office.erasures()
    assert (entry["actor"], entry["decision"], entry["reason"]) == (
        "E2",
        "deny",
        "not_privacy_officer",
    )
    assert not office.shredded("C1")


def test_an_unknown_customer_is_refused_on_the_record(office: Erasing) -> None:
    refused = office.erase("C404", "E9", signed_token(office.provider, "E9"))
    assert "no customer C404" in refused.stderr
    [entry] = office.erasures()
    assert (entry["actor"], entry["reason"]) == ("E9", "unknown_resource")
    assert "C404" not in json.dumps(entry)  # a typed id is a keyed digest, never itself
