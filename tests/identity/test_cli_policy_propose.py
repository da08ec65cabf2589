"""`custodes policy apply` proposes a policy change as the named privacy officer only on that
officer's own proof (an OIDC ID token in a file, checked against a real JWKS on loopback): an
operator naming someone else, with no token or with another employee's token, is a recorded
deny and no request is made. On SQLite and PostgreSQL (the command's CUSTODES_DATABASE_URL)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from custodes.access.models import PolicyProposal
from custodes.access.policy import default_policy_text
from tests.support.cli import Result
from tests.support.idp import signed_token
from tests.support.office import Office, office_home


@dataclass
class Proposing(Office):
    """Two privacy officers (E9, E8), a provider, a policy file to propose."""

    policy: Path = Path()

    def propose(self, by: str, token: str | None, oidc: bool = True, ok: bool = False) -> Result:
        args = ["policy", "apply", str(self.policy), "--applied-by", by]
        return self.run_as(args, token, oidc=oidc, ok=ok)

    def proposals(self) -> int:
        engine = create_engine(self.db_url)
        try:
            with engine.connect() as conn:
                return int(conn.scalar(select(func.count()).select_from(PolicyProposal)) or 0)
        finally:
            engine.dispose()

    def policy_entries(self) -> list[dict[str, object]]:
        return self.entries("policy.apply")


@pytest.fixture
def office(tmp_path: Path, db_url: str) -> Iterator[Proposing]:
    policy = tmp_path / "p.cedar"
    policy.write_text(default_policy_text() + "\n// a reviewed change\n")
    with office_home(tmp_path, db_url) as (home, provider):
        yield Proposing(home, db_url, provider, tmp_path, policy)


def test_proposing_as_someone_else_is_a_recorded_deny(office: Proposing) -> None:
    """The attack: an operator's shell names E9 as the proposer without E9's proof."""
    bare = office.propose("E9", None)
    assert "own_proof_required" in bare.stderr
    assert "--id-token-file" in bare.stderr and "/v1/policy/proposals" in bare.stderr
    other = office.propose("E9", signed_token(office.provider, "E8"))
    assert "employee_mismatch" in other.stderr
    no_idp = office.propose("E9", signed_token(office.provider, "E9"), oidc=False)
    assert "oidc_not_configured" in no_idp.stderr and "/v1/policy/proposals" in no_idp.stderr
    denies = office.policy_entries()
    assert [(e["actor"], e["decision"], e["reason"]) for e in denies] == [
        ("E9", "deny", "own_proof_required"),
        ("E9", "deny", "employee_mismatch"),
        ("E9", "deny", "oidc_not_configured"),
    ]
    assert office.proposals() == 0  # nothing was proposed, nothing waits for approval


def test_the_proposers_own_token_proposes_with_proof_on_record(office: Proposing) -> None:
    asked = office.propose("E9", signed_token(office.provider, "E9"), ok=True)
    assert "policy change requested: " in asked.stdout and "--id-token-file" in asked.stdout
    [entry] = office.policy_entries()
    extra = entry["extra"]
    assert isinstance(extra, dict)
    assert entry["actor"] == "E9" and entry["decision"] == "pending"
    assert extra["proof"] == "oidc" and str(extra["proof_ref"]).startswith("jwt:")
    assert office.proposals() == 1


def test_a_proven_employee_who_is_no_policy_administrator_is_a_recorded_deny(
    office: Proposing,
) -> None:
    refused = office.propose("E2", signed_token(office.provider, "E2"))
    assert "not_policy_admin" in refused.stderr
    [entry] = office.policy_entries()
    assert (entry["actor"], entry["decision"]) == ("E2", "deny")
    assert entry["reason"] == "not_policy_admin"
    assert office.proposals() == 0
