"""The sequencer as its own process's service: appends over a Unix socket, fail closed."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from custodes.ledger.models import LedgerAccessIndex
from custodes.ledger.proof import MemoryTree
from custodes.ledger.remote import RemoteLedger, SequencerServer
from custodes.ledger.sequencer import GroupCommitter, LedgerUnavailable, Sequencer
from custodes.ledger.storage import LedgerReader


def test_workers_append_through_the_sequencer(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "run" / "sequencer.sock"
    with Sequencer(engine) as seq:
        committer = GroupCommitter(seq)
        server = SequencerServer(committer, path)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        ledger = RemoteLedger(path)
        deadline = 50
        while not path.exists() and deadline:
            threading.Event().wait(0.05)
            deadline -= 1
        assert path.stat().st_mode & 0o777 == 0o600
        now = datetime.now(UTC)
        got: list[int] = []

        def worker(k: int) -> None:
            for i in range(20):
                row = {
                    "actor": f"A{k}",
                    "subject_kind": "customer",
                    "subject_id": f"C{i}",
                    "action": "customer.view",
                    "decision": "allow",
                    "time": now,
                }
                got.append(ledger.append(b'{"k":%d,"i":%d}' % (k, i), [row]))

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(got) == list(range(80))
        server.stop()
        committer.close()
        root = seq.root()
    stored = LedgerReader(engine).entries(0, 80)
    assert MemoryTree.from_entries(stored).root() == root
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(LedgerAccessIndex)) == 80


def test_no_sequencer_means_no_record(tmp_path: Path) -> None:
    with pytest.raises(LedgerUnavailable):
        RemoteLedger(tmp_path / "absent.sock").append(b"{}")
