"""`custodes employees enroll` end to end: a link on stdout, a ledger entry, one-line errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sqlalchemy import select

from custodes.ledger.models import LedgerEntryRow
from custodes.store.engine import make_engine
from tests.support.cli import home, run  # noqa: F401  (the `home` fixture)
from tests.support.dataset import write_dataset


def test_enroll_prints_a_link_and_ledgers_it(home: Path, tmp_path: Path) -> None:  # noqa: F811
    run(home, "import", str(write_dataset(tmp_path / "ds")))
    out = run(home, "employees", "enroll", "E2")
    url = out.stdout.strip()
    page, token = url.split("#ce_")
    # The link is the page and a random token, nothing else: no employee id or name in it.
    # (Checked by shape: a random token may contain "E2" by chance, about once in 100 runs.)
    assert page == "http://localhost:8000/enroll"
    assert re.fullmatch(r"[A-Za-z0-9_-]{32,}", token), token
    assert "Sam" not in out.stdout + out.stderr
    again = run(home, "employees", "enroll", "E2").stdout.strip()
    assert again != url  # every link is new
    engine = make_engine(f"sqlite:///{home / 'custodes.db'}")
    with engine.connect() as conn:
        entries = [json.loads(d) for d in conn.execute(select(LedgerEntryRow.data)).scalars()]
    engine.dispose()
    assert entries[0]["action"] == "dataset.import"  # operators' changes are ledgered too
    assert [(e["kind"], e["action"], e["actor"]) for e in entries[1:]] == [
        ("identity.event", "employee.enroll", "E2")
    ] * 2
    assert url.split("#")[1] not in json.dumps(entries)
    for args, needle in (
        (("employees", "enroll", "E999"), "no such employee"),
        (("employees", "enroll"), "Missing argument"),
    ):
        bad = run(home, *args, ok=False)
        assert bad.returncode != 0
        assert needle in bad.stderr and "Traceback" not in bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1
    assert run(home, "employees", "passkeys", "E2").stdout == ""
