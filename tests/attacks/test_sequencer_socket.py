"""A hostile or broken local client of the sequencer's socket hurts only its own connection:
not the sequencer's memory, not the batches other clients share, not their answers."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from custodes.ledger import remote, wire
from custodes.ledger.entry import LedgerEntry
from custodes.ledger.errors import LedgerError, LedgerUnavailable
from custodes.ledger.guard import Guard, all_hold
from custodes.ledger.pipelined import PipelinedLedger
from custodes.ledger.remote import RemoteLedger, SequencerServer
from custodes.ledger.sequencer import Sequencer
from tests.support.sequencer import serving

NOW = datetime.now(UTC)


def _entry(i: int) -> bytes:
    return LedgerEntry(NOW, "A1", "order.view", "allow", [f"order:O{i}"]).encode()


def _window(cap: int, subjects: tuple[str, ...]) -> Guard:
    since = datetime(2000, 1, 1, tzinfo=UTC)
    return Guard(
        "distinct", ("customer.view",), ("allow",), "A1", "customer", None, since, cap, subjects
    )


@pytest.fixture
def served(engine: Engine, tmp_path: Path) -> Iterator[tuple[Path, SequencerServer]]:
    path = tmp_path / "run" / "sequencer.sock"
    with Sequencer(engine) as seq, serving(seq, path) as server:
        yield path, server


def test_too_many_guards_fail_alone(served: tuple[Path, SequencerServer]) -> None:
    """Guards are asked in one query per pair of windows; an entry cannot bring so many that the
    query breaks (and with it the batch of everybody else's entries)."""
    path, _ = served
    ledger = PipelinedLedger(path)
    hostile = [_window(cap, ()) for cap in range(remote.MAX_GUARDS + 1)]

    async def both() -> list[object]:
        return await asyncio.gather(
            ledger.append_async(_entry(1), guards=hostile),
            ledger.append_async(_entry(2)),
            return_exceptions=True,
        )

    refused, honest = asyncio.run(both())
    assert isinstance(refused, LedgerError)
    assert not isinstance(honest, BaseException)


def test_the_largest_guards_allowed_still_make_one_valid_query(engine: Engine) -> None:
    """Four windows on the same subjects, each naming the most new subjects a guard may: the
    statements stay within SQLite's and psycopg's parameter limits."""
    subjects = tuple(f"cp_{i:05d}" for i in range(10_000))
    windows = [_window(20_000 + cap, subjects) for cap in range(remote.MAX_GUARDS)]
    with engine.begin() as conn:
        assert all_hold(conn, windows)
        assert not all_hold(conn, [*windows[:3], _window(9_999, subjects)])


def test_a_client_that_never_reads_holds_a_bounded_queue(
    served: tuple[Path, SequencerServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """It sends and sends and reads nothing: past MAX_IN_FLIGHT the server stops reading it
    (its socket buffer pushes back), its queued replies stay bounded, and another client is
    still served."""
    monkeypatch.setattr(remote, "MAX_IN_FLIGHT", 8)
    path, server = served
    flood = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    flood.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    flood.connect(str(path))
    frame = wire.frame({"d": "not an entry", "n": 1})

    def send_forever() -> None:
        try:
            while True:
                flood.sendall(frame * 64)
        except OSError:
            return

    threading.Thread(target=send_forever, daemon=True).start()
    time.sleep(1.5)
    connections = list(server._connections)
    assert connections
    assert all(len(c._replies) <= 8 for c in connections)
    assert RemoteLedger(path).append(_entry(3)).index == 0
    flood.close()


def test_stopping_the_server_ends_its_connections(served: tuple[Path, SequencerServer]) -> None:
    path, server = served
    idle = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    idle.connect(str(path))
    deadline = time.monotonic() + 5
    while not server._connections and time.monotonic() < deadline:
        time.sleep(0.02)
    server.stop()
    while time.monotonic() < deadline:
        if not any(t.name.startswith("sequencer-") for t in threading.enumerate()):
            break
        time.sleep(0.05)
    assert not any(t.name.startswith("sequencer-") for t in threading.enumerate())
    assert idle.recv(1) == b""  # closed from the server's side
    idle.close()


@pytest.mark.parametrize(
    "reply",
    [
        b'{"ok": 1, "n": 1}',  # no size
        b'{"ok": "one", "size": 2, "n": 1}',  # not a number
        b'{"n": [1]}',  # a number that is not one
        b"[1, 2]",  # not an object
    ],
)
def test_a_malformed_reply_is_unavailable_not_a_crash(tmp_path: Path, reply: bytes) -> None:
    """Whatever the other end answers, the caller gets `LedgerUnavailable` (a 503, nothing
    revealed), never another exception."""
    path = tmp_path / "odd.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)

    def answer_oddly() -> None:
        client, _ = listener.accept()
        client.recv(1 << 16)
        client.sendall(wire.HEADER.pack(len(reply)) + reply)
        time.sleep(1)
        client.close()

    threading.Thread(target=answer_oddly, daemon=True).start()
    try:
        with pytest.raises(LedgerUnavailable):
            asyncio.run(PipelinedLedger(path).append_async(_entry(1), timeout=3))
    finally:
        listener.close()
