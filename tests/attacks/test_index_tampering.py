"""A database writer deletes or rewrites access-index rows (the limits are counted from them,
so a deleted row lets a limit pass twice). The signed log keeps the entries; `ledger
audit-index` finds every disagreement, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from custodes.ledger.index_audit import audit_index
from tests.support.api import Api
from tests.support.cli import invoke

REVEAL = {"fields": ["email"], "justification": {"code": "customer_contact", "case_id": "K1"}}


def _reveals(api: Api, n: int) -> list[int]:
    indices = []
    for _ in range(n):
        response = api.call("POST", "/v1/customers/C1/reveal", "A1", json=REVEAL)
        assert response.status_code == 200, response.text
        indices.append(response.json()["decision"]["ledger_index"])
    return indices


def test_an_untouched_index_agrees_with_the_log(api: Api) -> None:
    _reveals(api, 3)
    search = {"email": "nobody@example.org", "justification": {"code": "customer_contact"}}
    api.call("POST", "/v1/customers/search", "A1", json=search)
    report = audit_index(api.engine)
    assert report.ok, report.problems
    assert report.checked >= 3


def test_deleted_index_rows_are_found(api: Api) -> None:
    first, second, _ = _reveals(api, 3)
    with api.engine.begin() as conn:
        conn.execute(text("DELETE FROM ledger_access_index WHERE idx = :i"), {"i": second})
    report = audit_index(api.engine)
    assert [index for index, _ in report.problems] == [second]
    assert first not in dict(report.problems)


def test_rewritten_and_orphaned_rows_are_found(api: Api) -> None:
    first, second = _reveals(api, 2)
    with api.engine.begin() as conn:
        conn.execute(
            text("UPDATE ledger_access_index SET subject_id = 'C2' WHERE idx = :i"), {"i": first}
        )
        conn.execute(
            text("UPDATE ledger_access_index SET decision = 'deny' WHERE idx = :i"), {"i": second}
        )
        conn.execute(
            text(
                "INSERT INTO ledger_access_index (idx, actor, subject_kind, subject_id, action, "
                "decision, time) SELECT 999999, actor, subject_kind, subject_id, action, "
                "decision, time FROM ledger_access_index WHERE idx = :i"
            ),
            {"i": first},
        )
    problems = dict(audit_index(api.engine).problems)
    assert problems[first] == "the index names other customers than the entry"
    assert "another actor, action or decision" in problems[second]
    assert problems[999999] == "index rows point at no entry"


def test_the_command_fails_on_a_tampered_index(api: Api, tmp_path: Path) -> None:
    (index,) = _reveals(api, 1)
    env = {
        "CUSTODES_HOME": str(tmp_path),
        "CUSTODES_DATABASE_URL": api.engine.url.render_as_string(hide_password=False),
    }
    assert invoke(["ledger", "audit-index"], env).returncode == 0
    with api.engine.begin() as conn:
        conn.execute(text("DELETE FROM ledger_access_index WHERE idx = :i"), {"i": index})
    result = invoke(["ledger", "audit-index"], env)
    assert result.returncode == 1
    assert f"#{index}: the entry has no index rows" in result.stderr
    assert "Traceback" not in result.stderr
