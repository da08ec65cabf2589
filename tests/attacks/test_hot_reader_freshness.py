"""The reveal's facts come through `HotReader` (a long-lived read-only SQLite connection per
thread, or a pooled DBAPI connection): a change committed by anyone else must bind the very next
reveal. A reader that kept an old snapshot would let a closed case or a departed employee read on,
and a PostgreSQL read left in its transaction would hold locks and the vacuum horizon.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, text

from custodes.store.hot_reads import HotReader
from tests.support.api import Api

GOOD = {"fields": ["email"], "justification": {"code": "customer_contact", "case_id": "K1"}}
PATH = "/v1/customers/C1/reveal"


def _write(engine: Engine, sql: str) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql), {"now": datetime.now(UTC)})


def test_a_case_closed_by_a_database_writer_binds_the_next_reveal(api: Api) -> None:
    assert api.call("POST", PATH, "A1", json=GOOD).status_code == 200
    _write(api.engine, "UPDATE cases SET closed_at = :now WHERE case_id = 'K1'")
    refused = api.call("POST", PATH, "A1", json=GOOD)
    assert refused.status_code == 403
    assert "values" not in refused.json()


def test_an_employee_who_left_cannot_reveal_on_the_next_request(api: Api) -> None:
    assert api.call("POST", PATH, "A1", json=GOOD).status_code == 200
    _write(api.engine, "UPDATE employees SET left_at = :now WHERE employee_id = 'A1'")
    assert api.call("POST", PATH, "A1", json=GOOD).status_code == 403


def test_a_first_row_keeps_no_snapshot_open(engine: Engine) -> None:
    _write(engine, "CREATE TABLE hot_probe (n INTEGER)")
    _write(engine, "INSERT INTO hot_probe (n) VALUES (1), (2), (3)")
    reads = HotReader(engine)
    assert reads.first("SELECT n FROM hot_probe ORDER BY n") == (1,)  # rows left unread
    _write(engine, "INSERT INTO hot_probe (n) VALUES (4)")
    assert reads.rows("SELECT count(*) FROM hot_probe") == [(4,)]
    assert reads.first("SELECT max(n) FROM hot_probe") == (4,)


def test_pooled_reads_leave_no_transaction_open(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        return  # SQLite reads in autocommit: covered by the snapshot test above
    reads = HotReader(engine)
    for _ in range(3):
        reads.rows("SELECT count(*) FROM customers")
        reads.first("SELECT 1")
    with engine.connect() as conn:
        idle = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
    assert idle == 0
