"""Closing a case is a decision in an employee's name (it ends the assignee's access, and a
privacy officer may close anyone's case), so it takes the closer's own proof like opening one:
a name a service asserts (legacy header) is a recorded deny and the case stays open. On SQLite
and PostgreSQL."""

from __future__ import annotations

from sqlalchemy.orm import Session

from custodes.marketplace.models import Case
from tests.support.api import Api


def _closes(api: Api) -> list[dict]:  # type: ignore[type-arg]
    return api.entries("case.close")


def _open(api: Api, case_id: str) -> bool:
    with Session(api.engine) as session:
        case = session.get(Case, case_id)
        assert case is not None
        return case.closed_at is None


def test_a_service_closes_no_case_in_an_employees_name(api: Api) -> None:
    """The attack: a service trusted to name employees for reads names privacy officer P1 and
    closes investigator I1's investigation."""
    asserted = api.call("POST", "/v1/cases/K6/close", "P1", "header")
    assert asserted.status_code == 403 and "own_proof_required" in asserted.text
    [entry] = _closes(api)
    assert (entry["actor"], entry["decision"], entry["reason"]) == (
        "P1",
        "deny",
        "own_proof_required",
    )
    assert entry["extra"]["proof"] == "asserted"
    assert _open(api, "K6")


def test_the_closers_own_proof_closes_it(api: Api) -> None:
    closed = api.call("POST", "/v1/cases/K6/close", "P1", "oidc")
    assert closed.status_code == 200, closed.text
    [entry] = _closes(api)
    assert (entry["actor"], entry["decision"], entry["extra"]["proof"]) == (
        "P1",
        "recorded",
        "oidc",
    )
    assert not _open(api, "K6")
