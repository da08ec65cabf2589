"""The sequencer as its own process, for API workers and operator commands (DESIGN.md,
scale-out).

One process holds the log (`SequencerServer`); API workers and commands send it entries over a
Unix socket and get the index back only after the batch is committed and signed, exactly as with
an in-process `GroupCommitter`. Frames are in `custodes.ledger.wire`; the socket lives under
CUSTODES_HOME and is never on the network.

A connection may pipeline: its reader hands every frame to the committer as it arrives, without
waiting for the one before, and its replies go back as each batch commits, several per write.
So one API worker's connection fills a batch as a whole server's threads would.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import IO, Any

from custodes.ledger import wire
from custodes.ledger.appends import IndexRow, Receipt
from custodes.ledger.committer import GroupCommitter
from custodes.ledger.entry import LedgerEntry
from custodes.ledger.errors import FormatError, LedgerUnavailable
from custodes.ledger.guard import Guard


def _read_frame(stream: IO[bytes]) -> dict[str, Any] | None:
    header = stream.read(wire.HEADER.size)
    if len(header) < wire.HEADER.size:
        return None
    size = wire.frame_size(header)
    data = stream.read(size)
    if len(data) < size:
        return None
    return wire.parse(data)


# Appends one connection may have in flight. Past this its reader waits for replies to leave, so
# a client that sends and never reads stalls only itself (its socket buffer pushes back), not
# the sequencer's memory or the batches other clients share.
MAX_IN_FLIGHT = 256
# Guards one entry may carry: custodes' own entries carry at most two (a reveal's hour and day).
MAX_GUARDS = 4
# How long a closing connection's writer may take to hand back what is still queued.
DRAIN_SECONDS = 5.0


class _Connection:
    """One client: a reader that submits each frame at once, a writer that sends the replies
    the committer hands back (one `sendall` for everything ready)."""

    def __init__(self, committer: GroupCommitter, client: socket.socket) -> None:
        self.committer = committer
        self.client = client
        self._replies: deque[tuple[object, dict[str, Any]]] = deque()
        self._wake = threading.Event()
        self._slots = threading.Semaphore(MAX_IN_FLIGHT)
        self._closed = False

    def serve(self) -> None:
        writer = threading.Thread(target=self._write, name="sequencer-replies", daemon=True)
        writer.start()
        try:
            with self.client.makefile("rb") as stream:
                while True:
                    try:
                        request = _read_frame(stream)
                    except Exception:  # a broken or hostile frame ends only this connection
                        return
                    if request is None:
                        return
                    if not self._slot():
                        return
                    self._submit(request)
        finally:
            self._closed = True
            self._wake.set()
            writer.join(DRAIN_SECONDS)
            self.close()

    def _slot(self) -> bool:
        """Wait for room in flight; False once the connection is closing."""
        while not self._slots.acquire(timeout=1.0):
            if self._closed:
                return False
        return True

    def close(self) -> None:
        """Unblock and end both threads (a writer stuck on a client that does not read)."""
        self._closed = True
        self._wake.set()
        with contextlib.suppress(OSError):
            self.client.shutdown(socket.SHUT_RDWR)
        self.client.close()

    def _submit(self, request: dict[str, Any]) -> None:
        number = request.get("n")
        try:
            # Checked here, not trusted: whatever reaches the log is a valid, PII-free entry in
            # canonical form, and a bad one fails alone, not its whole batch.
            data = str(request["d"]).encode()
            LedgerEntry.decode(data)
            raw_guards = request.get("g", [])
            if not isinstance(raw_guards, list) or len(raw_guards) > MAX_GUARDS:
                raise FormatError(f"an entry carries at most {MAX_GUARDS} guards")
            guards = [Guard.from_wire(g) for g in raw_guards]
            future = self.committer.submit(data, wire.decode_rows(request.get("i", [])), guards)
        except Exception as exc:  # the client learns the append failed, never why in PII
            self._reply(number, wire.failure(exc))
            return
        future.add_done_callback(lambda done: self._reply(number, _outcome(done)))

    def _reply(self, number: object, body: dict[str, Any]) -> None:
        """Runs on the committer's thread (or the reader's): queue, and wake the writer. The
        frame is encoded on the writer's thread, off the one that commits."""
        if self._closed:
            return
        self._replies.append((number, body))
        if not self._wake.is_set():
            self._wake.set()

    def _write(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            frames = []
            while self._replies:
                number, body = self._replies.popleft()
                if number is not None:
                    body["n"] = number
                frames.append(wire.frame(body))
            if frames:
                try:
                    self.client.sendall(b"".join(frames))
                except OSError:
                    self._closed = True  # the reader stops waiting for slots, and ends
                    return
                for _ in frames:
                    self._slots.release()
            if self._closed:
                return


def _outcome(done: Future[Receipt]) -> dict[str, Any]:
    exc = done.exception()
    if exc is not None:
        return wire.failure(exc)
    receipt = done.result()
    return {"ok": receipt.index, "size": receipt.checkpoint_size}


class SequencerServer:
    """Serves appends for one log to local API workers and commands, a thread per connection."""

    def __init__(self, committer: GroupCommitter, path: Path) -> None:
        self.committer = committer
        self.path = path
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self._connections: set[_Connection] = set()
        self._lock = threading.Lock()

    def serve_forever(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(self.path.parent, 0o700)
        if self.path.exists():
            self.path.unlink()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        previous = os.umask(0o177)  # private from the moment it exists, not after a chmod
        try:
            sock.bind(str(self.path))
        finally:
            os.umask(previous)
        os.chmod(self.path, 0o600)  # only this user's processes may append
        sock.listen(256)
        self._sock = sock
        while not self._stop.is_set():
            try:
                client, _ = sock.accept()
            except OSError:
                break
            connection = _Connection(self.committer, client)
            with self._lock:
                self._connections.add(connection)
            threading.Thread(
                target=self._serve, args=(connection,), name="sequencer-client", daemon=True
            ).start()

    def _serve(self, connection: _Connection) -> None:
        try:
            connection.serve()
        finally:
            with self._lock:
                self._connections.discard(connection)

    def stop(self) -> None:
        self._stop.set()
        if self._sock is not None:
            self._sock.close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            connection.close()


class RemoteLedger:
    """What a thread appends through: same contract as `GroupCommitter.append`; one request
    at a time on each thread's own connection."""

    def __init__(self, path: Path, timeout: float = 10.0) -> None:
        self.path = path
        self.timeout = timeout
        self._local = threading.local()

    def _connection(self) -> tuple[socket.socket, IO[bytes]]:
        """This thread's socket, and the buffered stream its replies are read from."""
        held: tuple[socket.socket, IO[bytes]] | None = getattr(self._local, "sock", None)
        if held is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            sock.connect(str(self.path))
            held = self._local.sock = (sock, sock.makefile("rb"))
        return held

    def append(
        self,
        data: bytes,
        index: Sequence[IndexRow] = (),
        timeout: float = 10.0,
        guards: Sequence[Guard] = (),
    ) -> Receipt:
        try:
            sock, replies = self._connection()
            sock.sendall(wire.frame(wire.request(data, index, guards)))
            reply = _read_frame(replies)
        except (OSError, ValueError) as exc:
            self._local.sock = None
            raise LedgerUnavailable(
                f"the sequencer is unreachable ({type(exc).__name__})"
            ) from None
        if reply is None:
            self._local.sock = None
            raise LedgerUnavailable("the sequencer closed the connection")
        return wire.receipt(reply)
