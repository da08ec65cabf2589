"""Appending from an event loop through the sequencer process, many entries in flight.

An API worker's requests each await their entry's receipt; here they share one connection per
event loop. Appends leave in writes of up to `FLUSH_AT` frames (or at the end of the loop
iteration), replies come back a batch at a time and settle their futures by number. No thread is
parked per request and none of this process's threads takes part in the commit: the batch SQL,
the signature and the syncs run in the sequencer's process (bench/README.md, stop 12).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from custodes.ledger import wire
from custodes.ledger.appends import IndexRow, Receipt, check_fits
from custodes.ledger.committer import awaited
from custodes.ledger.errors import LedgerUnavailable
from custodes.ledger.guard import Guard
from custodes.ledger.remote import RemoteLedger

# Frames written together at most. Writing each frame at once costs a system call and a wake-up
# of the sequencer per request; writing once per loop iteration held every entry of a burst until
# the whole burst had been judged, and the sequencer idled meanwhile (bench/README.md).
FLUSH_AT = 8

Reply = dict[str, Any]


class _Link(asyncio.Protocol):
    """One connection to the sequencer for one event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, owner: PipelinedLedger) -> None:
        self.loop = loop
        self.owner = owner
        self._transport: asyncio.Transport | None = None
        self._waiting: dict[int, asyncio.Future[Reply]] = {}
        self._outgoing: list[bytes] = []
        self._flush_due = False
        self._number = 0
        self._buffer = bytearray()
        self._connecting = loop.create_task(self._connect(owner.path))  # held: tasks are weak

    async def _connect(self, path: Path) -> None:
        try:
            await self.loop.create_unix_connection(lambda: self, str(path))
        except OSError as exc:
            self._fail(LedgerUnavailable(f"the sequencer is unreachable ({type(exc).__name__})"))

    def send(self, body: dict[str, Any]) -> tuple[int, asyncio.Future[Reply]]:
        """Queue one request; its reply settles the returned future."""
        self._number += 1
        body["n"] = self._number
        future: asyncio.Future[Reply] = self.loop.create_future()
        self._waiting[self._number] = future
        self._outgoing.append(wire.frame(body))
        if self._transport is not None:
            if len(self._outgoing) >= FLUSH_AT:
                self._flush()
            elif not self._flush_due:
                self._flush_due = True
                self.loop.call_soon(self._flush)
        return self._number, future

    def forget(self, number: int) -> None:
        """A caller stopped waiting (time-out, cancelled request): drop its slot."""
        self._waiting.pop(number, None)

    def _flush(self) -> None:
        self._flush_due = False
        if self._transport is not None and self._outgoing:
            self._transport.write(b"".join(self._outgoing))
            self._outgoing.clear()

    # -- asyncio.Protocol -----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self._flush()

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        try:
            while len(buffer) >= wire.HEADER.size:
                end = wire.HEADER.size + wire.frame_size(buffer[: wire.HEADER.size])
                if len(buffer) < end:
                    break
                reply = wire.parse(buffer[wire.HEADER.size : end])
                del buffer[:end]
                future = self._waiting.pop(reply.get("n"), None)  # type: ignore[arg-type]
                if future is not None and not future.done():
                    future.set_result(reply)
        except Exception:  # whatever is wrong with it, nobody's answer can be trusted now
            self._fail(LedgerUnavailable("the sequencer sent a malformed reply"))

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(LedgerUnavailable("the sequencer closed the connection"))

    def _fail(self, exc: LedgerUnavailable) -> None:
        """Everyone waiting learns their append's fate is unknown; the next append reconnects."""
        self.owner.forget(self)
        waiting, self._waiting = self._waiting, {}
        for future in waiting.values():
            if not future.done():
                future.set_exception(exc)
        if self._transport is not None:
            self._transport.abort()
            self._transport = None


class PipelinedLedger(RemoteLedger):
    """`append_async` over one pipelined connection per event loop; `append` (threads, the
    CLI) over `RemoteLedger`'s blocking connections. Same contract as `GroupCommitter`."""

    def __init__(self, path: Path, timeout: float = 10.0) -> None:
        super().__init__(path, timeout)
        self._links: dict[asyncio.AbstractEventLoop, _Link] = {}

    def forget(self, link: _Link) -> None:
        if self._links.get(link.loop) is link:
            del self._links[link.loop]

    async def append_async(
        self,
        data: bytes,
        index: Sequence[IndexRow] = (),
        timeout: float = 10.0,
        guards: Sequence[Guard] = (),
    ) -> Receipt:
        check_fits(data)
        body = wire.request(data, index, guards)
        loop = asyncio.get_running_loop()
        link = self._links.get(loop)
        if link is None:
            # Links of loops closed since (`asyncio.run` per call: commands, tests) go first.
            for closed in [other for other in self._links if other.is_closed()]:
                del self._links[closed]
            link = self._links[loop] = _Link(loop, self)
        number, future = link.send(body)
        try:
            reply = await awaited(future, timeout)
        finally:
            link.forget(number)
        return wire.receipt(reply)
