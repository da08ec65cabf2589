"""The sequencer as its own process, for stateless API workers (DESIGN.md, scale-out).

One process holds the log (`SequencerServer`); API workers send it entries over a Unix socket
(`RemoteLedger`) and get the index back only after the batch is committed, exactly as with an
in-process `GroupCommitter`. Frames are a 4-byte length and a JSON body; the socket lives under
CUSTODES_HOME and is never on the network.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from custodes.ledger.entry import LedgerEntry
from custodes.ledger.errors import FormatError, LedgerError
from custodes.ledger.guard import Guard, GuardRefused
from custodes.ledger.sequencer import GroupCommitter, IndexRow, LedgerUnavailable, Receipt
from custodes.vocabulary import DECISIONS, ID, SUBJECT_KINDS

_HEADER = struct.Struct(">I")
MAX_FRAME = 1 << 20


def _send(sock: socket.socket, body: dict[str, Any]) -> None:
    data = json.dumps(body, separators=(",", ":")).encode()
    sock.sendall(_HEADER.pack(len(data)) + data)


def _receive(sock: socket.socket) -> dict[str, Any] | None:
    header = _read_exactly(sock, _HEADER.size)
    if header is None:
        return None
    (size,) = _HEADER.unpack(header)
    if size > MAX_FRAME:
        raise LedgerError("ledger frame too large")
    data = _read_exactly(sock, size)
    if data is None:
        return None
    return json.loads(data)


def _read_exactly(sock: socket.socket, size: int) -> bytes | None:
    chunks, got = [], 0
    while got < size:
        chunk = sock.recv(size - got)
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _encode_rows(rows: Sequence[IndexRow]) -> list[list[Any]]:
    return [
        [
            r["actor"],
            r["subject_kind"],
            r["subject_id"],
            r["action"],
            r["decision"],
            r["time"].isoformat(),
        ]  # type: ignore[union-attr]
        for r in rows
    ]


_SUBJECT_KINDS = frozenset(SUBJECT_KINDS)


def _decode_rows(rows: list[list[Any]]) -> list[IndexRow]:
    """Access-index rows from a worker, each value checked (ids, known kinds and decisions)."""
    keys = ("actor", "subject_kind", "subject_id", "action", "decision")
    decoded: list[IndexRow] = []
    for row in rows:
        if not isinstance(row, list) or len(row) != 6 or not all(isinstance(v, str) for v in row):
            raise FormatError("an index row is six strings")
        if not all(ID.fullmatch(v) for v in row[:5]):
            raise FormatError("index row values are ids")
        if row[1] not in _SUBJECT_KINDS or row[4] not in DECISIONS:
            raise FormatError("unknown subject kind or decision in an index row")
        time = datetime.fromisoformat(row[5])
        if time.tzinfo is None:
            raise FormatError("index row times carry a time zone")
        decoded.append({**dict(zip(keys, row[:5], strict=True)), "time": time})
    return decoded


class SequencerServer:
    """Serves appends for one log to local API workers, one thread per connection."""

    def __init__(self, committer: GroupCommitter, path: Path) -> None:
        self.committer = committer
        self.path = path
        self._sock: socket.socket | None = None
        self._stop = threading.Event()

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
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        if self._sock is not None:
            self._sock.close()

    def _serve(self, client: socket.socket) -> None:
        with client:
            while True:
                try:
                    request = _receive(client)
                except Exception:  # a broken or hostile frame ends only this connection
                    return
                if request is None:
                    return
                try:
                    # Checked here, not trusted: whatever reaches the log is a valid, PII-free
                    # entry in canonical form, and a bad one fails alone, not its whole batch.
                    data = str(request["d"]).encode()
                    LedgerEntry.decode(data)
                    guards = [Guard.from_wire(g) for g in request.get("g", [])]
                    receipt = self.committer.append(
                        data, _decode_rows(request.get("i", [])), guards=guards
                    )
                    reply: dict[str, Any] = {"ok": receipt.index, "size": receipt.checkpoint_size}
                except GuardRefused:
                    reply = {"refused": True}
                except Exception as exc:  # the worker learns the append failed, never why in PII
                    reply = {"error": type(exc).__name__}
                try:
                    _send(client, reply)
                except OSError:
                    return


class RemoteLedger:
    """What an API worker appends through: same contract as `GroupCommitter.append`."""

    def __init__(self, path: Path, timeout: float = 10.0) -> None:
        self.path = path
        self.timeout = timeout
        self._local = threading.local()

    def _connection(self) -> socket.socket:
        sock = getattr(self._local, "sock", None)
        if sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            sock.connect(str(self.path))
            self._local.sock = sock
        return sock

    def append(
        self,
        data: bytes,
        index: Sequence[IndexRow] = (),
        timeout: float = 10.0,
        guards: Sequence[Guard] = (),
    ) -> Receipt:
        try:
            sock = self._connection()
            body: dict[str, Any] = {"d": data.decode(), "i": _encode_rows(index)}
            if guards:
                body["g"] = [g.to_wire() for g in guards]
            _send(sock, body)
            reply = _receive(sock)
        except (OSError, ValueError) as exc:
            self._local.sock = None
            raise LedgerUnavailable(
                f"the sequencer is unreachable ({type(exc).__name__})"
            ) from None
        if reply is None:
            self._local.sock = None
            raise LedgerUnavailable("the sequencer closed the connection")
        if reply.get("refused"):
            raise GuardRefused("the entry's condition no longer holds")
        if "ok" not in reply:
            raise LedgerUnavailable(f"the ledger could not record ({reply.get('error')})")
        return Receipt(int(reply["ok"]), int(reply["size"]))
