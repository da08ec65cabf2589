"""Appends from an event loop through the sequencer process (`PipelinedLedger`): many in flight
on one connection, batched together, each answered by number; failures fail closed."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from custodes.ledger import pipelined
from custodes.ledger.entry import LedgerEntry
from custodes.ledger.errors import LedgerError, LedgerUnavailable
from custodes.ledger.guard import Guard, GuardRefused
from custodes.ledger.note import Signer, generate_signer_key
from custodes.ledger.pipelined import PipelinedLedger
from custodes.ledger.proof import MemoryTree
from custodes.ledger.sequencer import Sequencer
from custodes.ledger.storage import LedgerReader
from tests.support.sequencer import serving

NOW = datetime.now(UTC)
ORIGIN = "custodes.test/pipelined"


@pytest.fixture
def signer() -> Signer:
    return Signer.from_skey(generate_signer_key(ORIGIN)[0])


def _entry(i: int, actor: str = "A1") -> bytes:
    return LedgerEntry(NOW, actor, "order.view", "allow", [f"order:O{i}"]).encode()


def _row(actor: str, subject: str) -> dict[str, object]:
    return {
        "actor": actor,
        "subject_kind": "customer",
        "subject_id": subject,
        "action": "customer.view",
        "decision": "allow",
        "time": NOW,
    }


@pytest.fixture
def served(engine: Engine, signer: Signer, tmp_path: Path) -> Iterator[tuple[Path, Sequencer]]:
    path = tmp_path / "run" / "sequencer.sock"
    with Sequencer(engine, signer) as seq, serving(seq, path):
        yield path, seq


def test_many_appends_in_flight_share_batches(
    served: tuple[Path, Sequencer], engine: Engine
) -> None:
    """300 awaiting callers on one connection: every entry its own index, the stored log is
    the reference tree, and entries share batches (one checkpoint covers several), which a
    connection answered one request at a time could never do."""
    path, seq = served
    ledger = PipelinedLedger(path)

    async def many() -> list[tuple[int, int]]:
        done = await asyncio.gather(*(ledger.append_async(_entry(i)) for i in range(300)))
        return [(r.index, r.checkpoint_size) for r in done]

    got = asyncio.run(many())
    assert sorted(index for index, _ in got) == list(range(300))
    assert all(index < size for index, size in got)  # each covered by its signed checkpoint
    assert len({size for _, size in got}) < 300
    stored = LedgerReader(engine).entries(0, 300)
    assert seq.root() == MemoryTree.from_entries(stored).root()
    assert [stored[index] for index, _ in got] == [_entry(i) for i in range(300)]


def test_a_bad_entry_fails_alone_and_its_neighbours_go_in(
    served: tuple[Path, Sequencer], engine: Engine
) -> None:
    """A refused frame is answered at once, ahead of earlier ones still committing: the
    replies are matched by number, so nobody gets somebody else's answer."""
    path, _ = served
    ledger = PipelinedLedger(path)
    pii = _entry(7).replace(b'"order:O7"', b'"order:jane.doe@example.com"')

    async def mixed() -> list[object]:
        calls = [ledger.append_async(_entry(i)) for i in range(20)]
        calls.insert(10, ledger.append_async(pii))
        return await asyncio.gather(*calls, return_exceptions=True)

    results = asyncio.run(mixed())
    assert isinstance(results[10], LedgerError)
    good = [r for i, r in enumerate(results) if i != 10]
    assert sorted(r.index for r in good) == list(range(20))  # type: ignore[attr-defined]
    assert all(b"jane" not in e for e in LedgerReader(engine).entries(0, 20))


def test_guards_ride_the_pipe(served: tuple[Path, Sequencer]) -> None:
    """A guard is evaluated where entries are sequenced: of three racing reveals under a cap of
    two distinct customers, the third is refused, and its caller learns `GuardRefused`."""
    path, _ = served
    ledger = PipelinedLedger(path)

    def capped(customer: str) -> Guard:
        return Guard(
            "distinct",
            ("customer.view",),
            ("allow",),
            "A9",
            "customer",
            None,
            datetime(2000, 1, 1, tzinfo=UTC),
            2,
            (customer,),
        )

    async def race() -> list[object]:
        calls = [
            ledger.append_async(_entry(i, "A9"), [_row("A9", f"C{i}")], guards=[capped(f"C{i}")])
            for i in range(3)
        ]
        return await asyncio.gather(*calls, return_exceptions=True)

    results = asyncio.run(race())
    assert sum(isinstance(r, GuardRefused) for r in results) == 1
    assert sum(not isinstance(r, BaseException) for r in results) == 2


def test_no_sequencer_means_no_record(tmp_path: Path) -> None:
    ledger = PipelinedLedger(tmp_path / "absent.sock")
    with pytest.raises(LedgerUnavailable):
        asyncio.run(ledger.append_async(_entry(1)))


def test_a_silent_sequencer_times_out_and_its_slot_is_freed(tmp_path: Path) -> None:
    """A sequencer that accepts and never answers: the caller gets `LedgerUnavailable` after
    its timeout (nothing is revealed), and the connection holds no slot for it afterwards."""
    path = tmp_path / "silent.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)
    ledger = PipelinedLedger(path)

    async def wait_out() -> None:
        with pytest.raises(LedgerUnavailable, match="TimeoutError"):
            await ledger.append_async(_entry(1), timeout=0.3)
        link = ledger._links[asyncio.get_running_loop()]
        assert link._waiting == {}

    try:
        asyncio.run(wait_out())
    finally:
        listener.close()


def test_a_dropped_connection_fails_every_waiter_then_reconnects(
    engine: Engine, signer: Signer, tmp_path: Path
) -> None:
    """The sequencer goes away with appends in flight: each of them fails closed (their fate
    is unknown to the caller, so nothing is revealed); once it is back, appends go in again."""
    path = tmp_path / "run" / "sequencer.sock"
    path.parent.mkdir(parents=True)
    ledger = PipelinedLedger(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)

    def accept_then_hang_up() -> None:
        client, _ = listener.accept()
        client.recv(1 << 16)  # some frames arrive; no answer, then the connection drops
        client.close()

    hang_up = threading.Thread(target=accept_then_hang_up)
    hang_up.start()

    async def in_flight() -> list[object]:
        calls = [ledger.append_async(_entry(i)) for i in range(5)]
        return await asyncio.gather(*calls, return_exceptions=True)

    loop = asyncio.new_event_loop()
    try:
        results = loop.run_until_complete(in_flight())
        hang_up.join()
        listener.close()
        path.unlink()
        assert all(isinstance(r, LedgerUnavailable) for r in results)
        with Sequencer(engine, signer) as seq, serving(seq, path):
            receipt = loop.run_until_complete(ledger.append_async(_entry(9)))
            assert receipt.index == 0
    finally:
        loop.close()


def test_frames_leave_together(
    served: tuple[Path, Sequencer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Appends made in one loop iteration leave in writes of at most FLUSH_AT frames: the
    system call and the sequencer's wake-up are shared."""
    path, _ = served
    ledger = PipelinedLedger(path)
    writes: list[int] = []

    async def burst() -> None:
        await ledger.append_async(_entry(0))  # connected
        link = ledger._links[asyncio.get_running_loop()]
        transport = link._transport
        assert transport is not None
        real_write = transport.write

        def counting(data: bytes) -> None:
            writes.append(data.count(b'"n":'))
            real_write(data)

        monkeypatch.setattr(transport, "write", counting)
        await asyncio.gather(*(ledger.append_async(_entry(i)) for i in range(1, 21)))

    asyncio.run(burst())
    assert sum(writes) == 20
    assert max(writes) <= pipelined.FLUSH_AT
    assert len(writes) < 20
