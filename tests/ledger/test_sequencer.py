"""The stored log on SQLite and PostgreSQL: appends, proofs from storage, locking, failure."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future

import pytest
from sqlalchemy import Engine, func, select, text

from custodes.ledger.checkpoint import open_checkpoint
from custodes.ledger.committer import _notify
from custodes.ledger.errors import LedgerError, ProofError
from custodes.ledger.models import LedgerEntryRow, LedgerNode
from custodes.ledger.note import Signer, generate_signer_key
from custodes.ledger.proof import MemoryTree, verify_consistency, verify_inclusion
from custodes.ledger.rfc6962 import leaf_hash
from custodes.ledger.sequencer import (
    GroupCommitter,
    LedgerUnavailable,
    Sequencer,
    SequencerBusy,
)
from custodes.ledger.storage import LedgerReader

ORIGIN = "custodes.test/ledger"


@pytest.fixture
def signer() -> Signer:
    return Signer.from_skey(generate_signer_key(ORIGIN)[0])


def entries(n: int, start: int = 0) -> list[bytes]:
    return [b'{"n":%d}' % i for i in range(start, start + n)]


def test_appends_match_reference_tree_and_proofs_verify(engine: Engine, signer: Signer) -> None:
    data = entries(1000)
    with Sequencer(engine, signer) as seq:
        indices: list[int] = []
        for i in range(0, 1000, 137):
            indices += seq.append_batch(data[i : i + 137])
        assert indices == list(range(1000))
        root = seq.root()
    tree = MemoryTree.from_entries(data)
    assert root == tree.root()
    reader = LedgerReader(engine)
    assert reader.head().size == 1000
    for index, size in [(0, 1), (5, 1000), (999, 1000), (511, 777), (256, 257)]:
        proof = reader.inclusion_proof(index, size)
        assert proof == tree.inclusion_proof(index, size)
        verify_inclusion(index, size, leaf_hash(data[index]), proof, tree.root(size))
    for m, n in [(1, 1000), (137, 274), (999, 1000), (512, 1000)]:
        verify_consistency(m, n, reader.consistency_proof(m, n), tree.root(m), tree.root(n))
    assert reader.entries(10, 13) == data[10:13]
    # Every batch was checkpointed and each checkpoint verifies against the signed root.
    sizes = reader.checkpoint_sizes()
    assert sizes[-1] == 1000
    latest = reader.latest_checkpoint()
    assert latest is not None
    cp = open_checkpoint(latest[1], signer.verifier(), ORIGIN)
    assert cp.size == 1000 and cp.root_hash == root


def test_restart_continues_the_same_tree(engine: Engine, signer: Signer) -> None:
    data = entries(300)
    with Sequencer(engine, signer) as seq:
        seq.append_batch(data[:123])
    with Sequencer(engine, signer) as seq:
        assert seq.size == 123
        assert seq.append_batch(data[123:]) == list(range(123, 300))
        assert seq.root() == MemoryTree.from_entries(data).root()


def test_second_sequencer_is_refused(engine: Engine, signer: Signer) -> None:
    with Sequencer(engine, signer), pytest.raises(SequencerBusy):
        Sequencer(engine, signer).open()
    # Released on close: a new one may start.
    with Sequencer(engine, signer) as seq:
        seq.append_batch(entries(1))


def test_oversize_entry_writes_nothing(engine: Engine, signer: Signer) -> None:
    with Sequencer(engine, signer) as seq:
        seq.append_batch(entries(3))
        with pytest.raises(LedgerError, match="exceeds"):
            seq.append_batch([b"x", b"y" * 70_000])
        assert seq.size == 3
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(LedgerEntryRow)) == 3


def test_group_commit_from_many_threads(engine: Engine, signer: Signer) -> None:
    with Sequencer(engine, signer) as seq:
        committer = GroupCommitter(seq, max_batch=64)
        got: list[int] = []
        lock = threading.Lock()

        def worker(k: int) -> None:
            for i in range(50):
                index = committer.append(b'{"w":%d,"i":%d}' % (k, i)).index
                with lock:
                    got.append(index)

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        committer.close()
        assert sorted(got) == list(range(400))
        stored = LedgerReader(engine).entries(0, 400)
        assert seq.root() == MemoryTree.from_entries(stored).root()


def test_group_commit_from_an_event_loop_and_threads_together(
    engine: Engine, signer: Signer
) -> None:
    """Awaiting callers (the HTTP hot path) and blocking callers share batches; every entry
    gets its own index and the stored log matches the reference tree."""
    with Sequencer(engine, signer) as seq:
        committer = GroupCommitter(seq, max_batch=64)

        async def many() -> list[int]:
            done = await asyncio.gather(
                *(committer.append_async(b'{"a":%d}' % i) for i in range(300))
            )
            return [receipt.index for receipt in done]

        blocking: list[int] = []
        thread = threading.Thread(
            target=lambda: blocking.extend(
                committer.append(b'{"t":%d}' % i).index for i in range(100)
            )
        )
        thread.start()
        awaited = asyncio.run(many())
        thread.join()
        committer.close()
        assert sorted(awaited + blocking) == list(range(400))
        stored = LedgerReader(engine).entries(0, 400)
        assert seq.root() == MemoryTree.from_entries(stored).root()
        assert [stored[i] for i in awaited] == [b'{"a":%d}' % i for i in range(300)]


def test_a_cancelled_waiter_does_not_stop_the_committer() -> None:
    """A caller that gave up must not take the committer thread (and the ledger) down."""
    gone, waiting = Future(), Future()
    gone.cancel()
    _notify([gone, waiting], [0, 1])
    assert waiting.result(timeout=1) == 1


def test_awaited_append_fails_closed(engine: Engine, signer: Signer) -> None:
    with Sequencer(engine, signer) as seq:
        committer = GroupCommitter(seq)
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE ledger_nodes"))
        with pytest.raises(LedgerUnavailable):
            asyncio.run(committer.append_async(b'{"n":1}'))
        committer.close()
        assert seq.size == 0


def test_failure_to_record_raises_unavailable(engine: Engine, signer: Signer) -> None:
    with Sequencer(engine, signer) as seq:
        seq.append_batch(entries(2))
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE ledger_nodes"))
        with pytest.raises(LedgerUnavailable):
            seq.append_batch(entries(1, 2))
        assert seq.size == 2
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(LedgerEntryRow)) == 2


def test_proof_beyond_the_log_is_refused(engine: Engine, signer: Signer) -> None:
    with Sequencer(engine, signer) as seq:
        seq.append_batch(entries(10))
    reader = LedgerReader(engine)
    with pytest.raises(ProofError):
        reader.inclusion_proof(3, 11)
    with pytest.raises(ProofError):
        reader.inclusion_proof(10, 10)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(LedgerNode)) == 10 + 5 + 2 + 1
