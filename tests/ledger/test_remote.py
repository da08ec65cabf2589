"""The sequencer as its own process's service: appends over a Unix socket, fail closed."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from custodes.ledger.entry import LedgerEntry
from custodes.ledger.errors import LedgerError
from custodes.ledger.models import LedgerAccessIndex
from custodes.ledger.proof import MemoryTree
from custodes.ledger.remote import RemoteLedger, SequencerServer
from custodes.ledger.sequencer import GroupCommitter, LedgerUnavailable, Sequencer
from custodes.ledger.storage import LedgerReader
from tests.support.sequencer import serve_socket


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
                entry = LedgerEntry(now, f"A{k}", "customer.view", "allow", [f"order:O{i}"])
                got.append(ledger.append(entry.encode(), [row]).index)

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


def _serving(engine: Engine, tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "run" / "sequencer.sock"
    seq = Sequencer(engine).open()
    committer = GroupCommitter(seq)
    return path, seq, committer, serve_socket(committer, path)


def test_the_socket_appends_only_valid_pii_free_entries(engine: Engine, tmp_path: Path) -> None:
    path, seq, committer, server = _serving(engine, tmp_path)
    try:
        assert path.parent.stat().st_mode & 0o777 == 0o700
        ledger = RemoteLedger(path)
        now = datetime.now(UTC)
        good = LedgerEntry(now, "A1", "customer.view", "allow", ["order:O1"]).encode()
        refused = [
            b"hello jane.doe@example.com +14155550123",  # not an entry at all
            good.replace(b'"order:O1"', b'"order:jane.doe@example.com"'),  # PII, bypassing encode
            good.replace(b'{"action"', b'{ "action"'),  # not canonical
            b'{"v":1,' + b"[" * 5000 + b"]" * 5000 + b"}",  # nested deep enough to hurt a parser
        ]
        for data in refused:
            with pytest.raises(LedgerError):
                ledger.append(data)
        bad_row = {
            "actor": "A1",
            "subject_kind": "customer",
            "subject_id": "jane@example.com",
            "action": "customer.view",
            "decision": "allow",
            "time": now,
        }
        with pytest.raises(LedgerError):
            ledger.append(good, [bad_row])
        # The server is still there, and a valid entry goes in as the first one.
        assert RemoteLedger(path).append(good).index == 0
    finally:
        server.stop()
        committer.close()
        seq.close()


def test_an_oversize_entry_fails_alone(engine: Engine, tmp_path: Path) -> None:
    with Sequencer(engine) as seq:
        committer = GroupCommitter(seq)
        with pytest.raises(LedgerError, match="exceeds"):
            committer.submit(b"x" * 70_000)
        now = datetime.now(UTC)
        good = LedgerEntry(now, "A1", "customer.view", "allow", ["order:O1"]).encode()
        assert committer.append(good).index == 0
        committer.close()
