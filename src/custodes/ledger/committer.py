"""Group commit: many callers' appends become one batch, one commit, one signature.

Callers on threads block on a `Future`; callers on an event loop await one, and the committer
wakes each loop once per batch. Nobody hears of an entry before its batch is committed and
covered by a signed checkpoint (`Sequencer.append_items`).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, InvalidStateError
from typing import TYPE_CHECKING, Any, TypeVar

from custodes.ledger.appends import IndexRow, Item, Receipt, check_fits
from custodes.ledger.errors import LedgerError, LedgerUnavailable
from custodes.ledger.guard import Guard

if TYPE_CHECKING:
    from custodes.ledger.sequencer import Sequencer

# How long a busy committer waits at most for more entries before it commits (seconds). Each
# batch costs two syncs (database, signer state) and a signature however small it is; measured on
# 2 cores, a few milliseconds here halve the per-entry commit CPU under load (bench/README.md).
# It stops waiting as soon as as many entries wait as the previous batch held.
LINGER = 0.006

_T = TypeVar("_T")

# A waiter is a thread's Future, or an event loop's future (resolved on that loop).
_Waiter = Future[Receipt] | tuple[asyncio.AbstractEventLoop, asyncio.Future[Receipt]]
_Queued = tuple[Item, _Waiter]
_Result = Receipt | BaseException


def _settle(waiters: list[tuple[asyncio.Future[Receipt], _Result]]) -> None:
    """Runs on the loop: one wake-up settles every waiter of a batch from that loop."""
    for future, result in waiters:
        _resolve(future, result)


class GroupCommitter:
    """Collects appends from many threads into batches: one commit (one fsync, one signature)
    per batch.

    `append` blocks until the entry's batch is committed and signed, and returns its
    `Receipt`, or raises `LedgerUnavailable` (record before reveal) or `GuardRefused`.
    """

    def __init__(self, sequencer: Sequencer, max_batch: int = 512, linger: float = LINGER) -> None:
        self.sequencer = sequencer
        self.max_batch = max_batch
        self.linger = linger
        # Appends go on a deque and wake the committer only when it sleeps: a Queue's lock and
        # notify per entry woke it (and made it take the GIL) for every append of a burst.
        self._pending: deque[_Queued | None] = deque()
        self._wake = threading.Event()
        # Set once `_expected` entries wait: the company a lingering committer waits for.
        self._company = threading.Event()
        self._expected = 1 << 30
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="ledger-group-commit", daemon=True)
        self._thread.start()

    def submit(
        self, data: bytes, index: Sequence[IndexRow] = (), guards: Sequence[Guard] = ()
    ) -> Future[Receipt]:
        check_fits(data)
        future: Future[Receipt] = Future()
        self._put((Item(data, index, guards), future))
        return future

    def append(
        self,
        data: bytes,
        index: Sequence[IndexRow] = (),
        timeout: float = 10.0,
        guards: Sequence[Guard] = (),
    ) -> Receipt:
        try:
            return self.submit(data, index, guards).result(timeout)
        except LedgerError:
            raise
        except Exception as exc:
            raise LedgerUnavailable(f"the ledger could not record ({type(exc).__name__})") from exc

    async def append_async(
        self,
        data: bytes,
        index: Sequence[IndexRow] = (),
        timeout: float = 10.0,
        guards: Sequence[Guard] = (),
    ) -> Receipt:
        """`append` for a caller on an event loop: no thread parked per request, and the
        committer wakes each loop once per batch rather than once per entry."""
        check_fits(data)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Receipt] = loop.create_future()
        self._put((Item(data, index, guards), (loop, future)))
        return await awaited(future, timeout)

    def close(self) -> None:
        self._closing = True  # before the sentinel: a lingering committer stops waiting
        self._put(None)
        self._thread.join()

    def _put(self, queued: _Queued | None) -> None:
        self._pending.append(queued)
        if not self._wake.is_set():  # cleared just before each drain, so nothing is missed
            self._wake.set()
        if len(self._pending) >= self._expected or queued is None:
            self._company.set()

    def _run(self) -> None:
        previous = 1
        while True:
            if not self._pending:
                self._wake.wait()
            self._wake.clear()
            # Linger only under concurrency (the last batch had company): a lone caller is
            # answered at once, a busy server gathers larger batches, so one commit, one
            # signature and one signer-state sync serve more requests (bench/README.md).
            if previous > 1 and self.linger > 0:
                self._linger(previous)
            batch, stop = self._gather()
            if batch:
                previous = len(batch)
                self._commit(batch)
            if stop:
                return

    def _linger(self, previous: int) -> None:
        """Wait up to `linger` for as many entries as the last batch held (a steady load's
        callers have all sent theirs by then; waiting longer would only add latency)."""
        self._company.clear()
        self._expected = previous
        if len(self._pending) < previous and not self._closing:
            self._company.wait(self.linger)
        self._expected = 1 << 30

    def _gather(self) -> tuple[list[_Queued], bool]:
        """The next batch: what is queued now, up to `max_batch` (the rest waits its turn)."""
        batch: list[_Queued] = []
        while self._pending and len(batch) < self.max_batch:
            queued = self._pending.popleft()
            if queued is None:
                return batch, True
            batch.append(queued)
        return batch, False

    def _commit(self, batch: list[_Queued]) -> None:
        results: list[_Result]
        try:
            results = list(self.sequencer.append_items([queued for queued, _ in batch]))
        except Exception as exc:  # every waiter learns the batch failed
            results = [exc] * len(batch)
        _notify([waiter for _, waiter in batch], results)


async def awaited(future: asyncio.Future[_T], timeout: float) -> _T:
    """An append's answer, awaited on the loop (this committer's or the sequencer socket's):
    any failure but the ledger's own becomes `LedgerUnavailable`. The timer sits on the future
    itself: `asyncio.wait_for` adds a task, a waiter and callbacks per request, which on this
    path cost more than the rest of the append."""
    timer = asyncio.get_running_loop().call_later(timeout, _time_out, future)
    try:
        return await future
    except LedgerError:
        raise
    except Exception as exc:
        raise LedgerUnavailable(f"the ledger could not record ({type(exc).__name__})") from exc
    finally:
        timer.cancel()


def _time_out(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_exception(TimeoutError("the ledger did not answer in time"))


def _notify(waiters: list[_Waiter], results: list[_Result]) -> None:
    """Hand each waiter its result. Nothing here may raise: the committer thread must live."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Receipt], _Result]]]
    by_loop = {}
    for waiter, result in zip(waiters, results, strict=True):
        if isinstance(waiter, Future):
            _resolve(waiter, result)
        else:
            loop, future = waiter
            by_loop.setdefault(loop, []).append((future, result))
    for loop, settled in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
            loop.call_soon_threadsafe(_settle, settled)


def _resolve(future: Future[Receipt] | asyncio.Future[Receipt], result: _Result) -> None:
    """Hand a waiter its result, unless its caller gave up (timeout, cancelled request)."""
    if future.done():
        return
    with contextlib.suppress(InvalidStateError, asyncio.InvalidStateError):
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)
