"""`custodes employees enroll E` is an operator's act, not the employee's: the employee cannot
prove themselves before they have a credential, so the link is issued on the operator's word.
The ledger entry names the employee it is about, and also the operating-system account that
issued it, so an operator who enrolls a passkey for someone else is attributable. On SQLite and
PostgreSQL (the command's CUSTODES_DATABASE_URL)."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import create_engine, select

from custodes.ledger.models import LedgerEntryRow
from tests.support.cli import ORIGIN, Result, check, home_env, invoke
from tests.support.dataset import write_dataset


def _run(home: Path, db_url: str, *args: str, ok: bool = True) -> Result:
    env = home_env(home, CUSTODES_LEDGER_ORIGIN=ORIGIN, CUSTODES_DATABASE_URL=db_url)
    result = invoke(list(args), env)
    check(result, ok)
    return result


def test_an_enrollment_link_names_the_account_that_issued_it(tmp_path: Path, db_url: str) -> None:
    home = tmp_path / "home"
    _run(home, db_url, "init")
    _run(home, db_url, "import", str(write_dataset(tmp_path / "ds")))
    _run(home, db_url, "employees", "enroll", "E2")
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(LedgerEntryRow.data).order_by(LedgerEntryRow.idx))
            entries = [json.loads(d) for d in rows.scalars()]
    finally:
        engine.dispose()
    [entry] = [e for e in entries if e["action"] == "employee.enroll"]
    assert entry["actor"] == "E2" and entry["resources"] == ["employee:E2"]
    assert str(entry["extra"].get("ran_by", "")).startswith("os:")
